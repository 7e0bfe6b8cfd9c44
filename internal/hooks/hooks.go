// Package hooks runs the lifecycle hooks of skaffold.yaml on the host, as
// Skaffold runs them: a command (no shell) in a folder, with Skaffold's
// SKAFFOLD_* variables set, skipped on other operating systems, its output
// passed on line by line. A render hook can also be given the manifests on
// its standard input and have its standard output kept. A hook that fails
// fails the phase it belongs to.
package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"

	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/proc"
)

// Env are the SKAFFOLD_* variables of a hook, by their names without the
// prefix, such as IMAGE or RUN_ID; empty values are left out.
type Env map[string]string

// Environ is e as the environment of a command: the variables, then the
// process's own, which win over them as in Skaffold.
func (e Env) Environ() []string {
	var out []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range e {
			if !yield(k) {
				return
			}
		}
	}) {
		if v := e[k]; v != "" {
			out = append(out, "SKAFFOLD_"+k+"="+v)
		}
	}
	return append(out, os.Environ()...)
}

// Run runs the hooks in order, for phase (such as "pre-build"), with dir
// the folder relative dirs are relative to. Each line of their output goes
// to line. The first that fails ends Run with an error of code.
func Run(ctx context.Context, phase string, hs []config.HostHook, dir string, env Env, code fault.Code, line func(string)) error {
	return Runner{Phase: phase, Dir: dir, Env: env, Code: code, Line: line}.Run(ctx, hs)
}

// Runner runs the host hooks of one phase.
type Runner struct {
	// Phase, such as "pre-build", names the hooks in errors.
	Phase string
	// Dir is the folder relative dirs are relative to.
	Dir string
	Env Env
	// Code is the code of a hook's failure.
	Code fault.Code
	// Line takes each line of the hooks' output.
	Line func(string)
}

// IO are a hook's standard input and output. By default it reads nothing
// and its standard output goes to the Runner's Line with its standard
// error.
type IO struct {
	// In, when set, is the hook's standard input.
	In io.Reader
	// Out, when set, takes the hook's standard output as it is; its
	// standard error still goes to Line.
	Out io.Writer
}

// Run runs the hooks in order; the first that fails ends it.
func (r Runner) Run(ctx context.Context, hs []config.HostHook) error {
	for i, h := range hs {
		if _, err := r.Hook(ctx, i+1, h, IO{}); err != nil {
			return err
		}
	}
	return nil
}

// Hook runs h, hook n (counting from 1) of the phase, with stdio. It
// reports whether h ran: a hook for other operating systems does not. A
// hook that fails is an error of r.Code that names it by n and command and
// holds its exit status and last lines.
func (r Runner) Hook(ctx context.Context, n int, h config.HostHook, stdio IO) (bool, error) {
	if len(h.OS) > 0 && !slices.Contains(h.OS, runtime.GOOS) {
		return false, nil
	}
	if err := run(ctx, h, r.Dir, r.Env, r.Line, stdio); err != nil {
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		return true, fault.Wrap(err, r.Code, fmt.Sprintf("%s hook %d (%s) failed", r.Phase, n, strings.Join(h.Command, " ")),
			"run the hook's command by hand in its dir to see why; hooks run without a shell")
	}
	return true, nil
}

func run(ctx context.Context, h config.HostHook, dir string, env Env, line func(string), stdio IO) error {
	if len(h.Command) == 0 {
		// The config's validation refuses it; this keeps a bad caller
		// from a panic.
		return errors.New("the hook has no command")
	}
	cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
	cmd.Dir = dir
	if h.Dir != "" {
		cmd.Dir = h.Dir
		if !strings.HasPrefix(h.Dir, "/") {
			cmd.Dir = dir + "/" + h.Dir
		}
	}
	cmd.Env = env.Environ()
	cmd.Stdin = stdio.In
	cmd.Stdout = stdio.Out
	tail, err := proc.Run(cmd, line, 5)
	var exit *exec.ExitError
	if errors.As(err, &exit) && len(tail) > 0 {
		return fmt.Errorf("%w; last output: %s", err, strings.Join(tail, " | "))
	}
	return err
}

// Printer writes each line of a hook's output to out (nil discards them),
// marked with its phase.
func Printer(out io.Writer, phase string) func(string) {
	if out == nil {
		out = io.Discard
	}
	// A line that cannot be written loses no config or event.
	return func(line string) { _, _ = fmt.Fprintf(out, "[%s hook] %s\n", phase, line) }
}

// Lines is an io.Writer that passes on each whole line written to it;
// Flush passes on the rest.
type Lines struct {
	Line func(string)
	buf  []byte
}

func (l *Lines) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.Line(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}

// Flush passes on a last line without its newline.
func (l *Lines) Flush() {
	if len(l.buf) > 0 {
		l.Line(string(l.buf))
		l.buf = nil
	}
}
