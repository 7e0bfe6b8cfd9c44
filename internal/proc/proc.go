// Package proc runs the programs hoist starts on the user's behalf (custom
// builds, tests, hooks, the docker command) the one way: in a process group
// of their own, so that cancelling one ends its children too, with their
// output passed on line by line and the last lines kept for the error.
package proc

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
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
	return RunLines(cmd, func(lines []string) {
		for _, l := range lines {
			line(l)
		}
	}, keep, 0)
}

// RunLines is Run with the lines of each read of the program's output
// passed on together, in order: a program that prints fast gives tens at a
// time. lines must not keep the slice, which is reused, but may keep the
// strings. pipe is how many bytes of output the program may print ahead
// of lines, unread, in its output pipe: 0 leaves the system's size (64
// KiB on Linux). It is a request that the system may refuse.
func RunLines(cmd *exec.Cmd, lines func([]string), keep, pipe int) ([]string, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, &StartError{fmt.Errorf("creating output pipe: %w", err)}
	}
	if pipe > 0 {
		growPipe(pr, pipe)
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
	// A grown pipe is read in larger pieces, 64 KiB from 1 MiB: for a
	// build that prints 1M lines, 5% less of hoist's CPU time. The caller
	// grows it for readers that keep up, such as a build's, whose events
	// the run's sinks pace (see the runner's Backlog).
	tail := scan(pr, lines, keep, max(readSize, pipe/16))
	_ = pr.Close()
	return tail, cmd.Wait()
}

const (
	// readSize is how much of a program's output scan reads at once, at
	// most, from a pipe of the system's size (a program whose caller did
	// not grow it, such as a hook). The lines of a read are published
	// together, and the memory they take stays live while any of them is
	// read, so that smaller reads keep less of it live when readers fall
	// behind. With reads of 16 KiB instead of 64 and the yield after
	// each, a 1M-line build with a subscriber, when its pipe kept the
	// system's size, read about half as many blocks of its events back
	// from disk.
	readSize = 16 << 10
	// MaxLine is the longest line scan passes on whole; a longer one is
	// passed on in pieces of this length.
	MaxLine = 1 << 20
)

// scan passes every line of r on, those of each read (of size bytes at
// most) together, and returns the last keep. The lines of one read are
// substrings of one string: one allocation, not one a line. A read error
// ends the output as EOF does, with the last line even if it has no
// newline.
func scan(r io.Reader, lines func([]string), keep, size int) []string {
	buf := make([]byte, size)
	last := make([]string, max(keep, 1)) // the latest at n-1 (mod len)
	n := 0
	var batch []string
	pass := func(text string, whole bool) {
		batch = batch[:0]
		for text != "" {
			l := text
			if i := strings.IndexByte(text, '\n'); i >= 0 {
				l, text = text[:i], text[i+1:]
			} else if whole {
				text = ""
			} else {
				break
			}
			l = strings.TrimRight(l, "\r")
			batch = append(batch, l)
			last[n%len(last)] = l
			n++
		}
		lines(batch)
		// The readers that lines woke (a build's lines wake the event
		// log's, stdout's and every subscriber's) wait for this
		// goroutine's processor. Let them take the lines now, while they
		// are in the event bus's memory, instead of after reads that push
		// them out of it: a subscriber would then read them back from disk.
		runtime.Gosched()
	}
	start, end := 0, 0 // buf[start:end] is read, not yet passed on, and holds no newline
	for {
		m, err := r.Read(buf[end:])
		// Only the bytes just read can hold a newline: those before
		// them hold none.
		if i := bytes.LastIndexByte(buf[end:end+m], '\n'); i >= 0 {
			pass(string(buf[start:end+i+1]), false)
			start = end + i + 1
		}
		end += m
		if err != nil {
			if start < end {
				pass(string(buf[start:end]), true)
			}
			break
		}
		switch {
		case start == end:
			start, end = 0, 0
		case end < len(buf):
		case start > 0:
			// Room for the rest of a line.
			end = copy(buf, buf[start:end])
			start = 0
		case len(buf) < MaxLine:
			buf = append(buf, make([]byte, min(len(buf), MaxLine-len(buf)))...)
		default:
			// A line of MaxLine bytes and more: pass this much on.
			pass(string(buf), true)
			start, end = 0, 0
		}
	}
	tail := make([]string, 0, min(n, keep))
	for i := max(0, n-keep); i < n; i++ {
		tail = append(tail, last[i%len(last)])
	}
	return tail
}
