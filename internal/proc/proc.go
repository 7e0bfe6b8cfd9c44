// Package proc runs the programs hoist starts on the user's behalf (custom
// builds, tests, hooks, the docker command) the one way: in a process group
// of their own, so that cancelling one ends its children too, with their
// output passed on line by line and the last lines kept for the error.
package proc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// StartError is Run's error when the program could not be started.
type StartError struct{ Err error }

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Run runs cmd, made with exec.CommandContext, to its end. Each line of its
// output (stdout and stderr together, without "\r") goes to line; Run
// returns the last keep lines and Wait's error. A cmd.Stdout set by the
// caller keeps the standard output, and only the standard error goes to
// line; cmd.Stdin, when set, is the program's input. When the context ends,
// the process group gets SIGTERM, then SIGKILL 5 s later.
func Run(cmd *exec.Cmd, line func(string), keep int) ([]string, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, &StartError{fmt.Errorf("creating output pipe: %w", err)}
	}
	if cmd.Stdout == nil {
		cmd.Stdout = pw
	}
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		// Nothing went through the pipe; closing it only frees the
		// descriptors, and the start error is the one to report.
		_ = pr.Close()
		_ = pw.Close()
		return nil, &StartError{err}
	}
	// The program has its own copy of the write end. Closing ours, which
	// wrote nothing, lets the scan see EOF when the program's copy closes;
	// the read end is closed once read. Neither close can lose output.
	_ = pw.Close()
	tail := scan(pr, line, keep)
	_ = pr.Close()
	return tail, cmd.Wait()
}

// scan passes every line of r on and returns the last keep.
func scan(r io.Reader, line func(string), keep int) []string {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	last := make([]string, max(keep, 1)) // the latest at n-1 (mod len)
	n := 0
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		line(l)
		last[n%len(last)] = l
		n++
	}
	// A line over the scanner's limit ends scanning; drain the rest so the
	// program does not block on a full pipe. Should the drain itself fail,
	// the caller closes the read end, and the program's writes then fail
	// instead of blocking, so its error has nothing to add.
	if sc.Err() != nil {
		_, _ = io.Copy(io.Discard, r)
	}
	tail := make([]string, 0, min(n, keep))
	for i := max(0, n-keep); i < n; i++ {
		tail = append(tail, last[i%len(last)])
	}
	return tail
}
