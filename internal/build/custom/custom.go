// Package custom builds artifacts with a user's own command, as Skaffold's
// custom builder does: the command runs in the artifact's context with IMAGE,
// PUSH_IMAGE, BUILD_CONTEXT and PLATFORMS set, and must build (and, when
// PUSH_IMAGE is true, push) $IMAGE.
package custom

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
)

// tailLines is how many of the last output lines a failure carries.
const tailLines = 10

// Digester finds the digest of a built image.
type Digester interface {
	// Remote returns the registry's manifest digest of ref.
	Remote(ctx context.Context, ref string) (string, error)
	// Local returns the local image id of ref.
	Local(ctx context.Context, ref string) (string, error)
}

// Builder runs custom build commands.
type Builder struct {
	Push      bool
	Platforms []string
	Digester  Digester
}

var _ build.Builder = (*Builder)(nil)

// Build implements build.Builder.
func (b *Builder) Build(ctx context.Context, out build.Output, a *config.Artifact, tag string) (build.Result, error) {
	if st, err := os.Stat(a.Context); err != nil || !st.IsDir() {
		return build.Result{}, fault.New(fault.BuildContextMissing,
			fmt.Sprintf("build context %s of artifact %q does not exist or is not a folder", a.Context, a.ImageName),
			"fix build.artifacts[].context in skaffold.yaml; it is relative to the config file")
	}
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", a.Custom.BuildCommand)
	cmd.Dir = a.Context
	cmd.Env = append(os.Environ(),
		"IMAGE="+tag,
		"PUSH_IMAGE="+strconv.FormatBool(b.Push),
		"BUILD_CONTEXT="+a.Context,
		"PLATFORMS="+strings.Join(b.Platforms, ","),
	)
	// The images it requires, by alias, as Skaffold passes them.
	for alias, ref := range a.DependencyRefs {
		cmd.Env = append(cmd.Env, alias+"="+ref)
	}
	// The command and its children form a process group, so that
	// cancelling the build stops all of them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	pr, pw, err := os.Pipe()
	if err != nil {
		return build.Result{}, fmt.Errorf("creating output pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		// Nothing went through the pipe; closing it only frees the
		// descriptors, and the start error is the one to report.
		_ = pr.Close()
		_ = pw.Close()
		return build.Result{}, fault.Wrap(err, fault.BuildCustomCommandStart,
			fmt.Sprintf("starting the build command of %q", a.ImageName), "check that /bin/sh exists")
	}
	// The command has its own copy of the write end. Closing ours, which
	// wrote nothing, lets scanLines see EOF when the command's copy closes;
	// the read end is closed once read. Neither close can lose output.
	_ = pw.Close()
	tail := scanLines(pr, out)
	_ = pr.Close()
	err = cmd.Wait()
	if ctx.Err() != nil {
		return build.Result{}, ctx.Err()
	}
	if err != nil {
		var exit *exec.ExitError
		msg := fmt.Sprintf("build command %q of %q failed", a.Custom.BuildCommand, a.ImageName)
		if errors.As(err, &exit) {
			msg = fmt.Sprintf("build command %q of %q exited with status %d", a.Custom.BuildCommand, a.ImageName, exit.ExitCode())
		}
		if len(tail) > 0 {
			msg += "; last output:\n" + strings.Join(tail, "\n")
		}
		return build.Result{}, &fault.Error{Code: fault.BuildCustomCommandFail, Message: msg,
			Suggestions: []string{"run the command by hand in " + a.Context + " with IMAGE=" + tag + " to see the failure"}}
	}
	res := build.Result{ImageName: a.ImageName, Tag: tag, Pushed: b.Push}
	if b.Push {
		res.Digest, err = b.Digester.Remote(ctx, tag)
	} else {
		res.Digest, err = b.Digester.Local(ctx, tag)
	}
	if err != nil {
		return build.Result{}, err
	}
	return res, nil
}

// scanLines reports every line of r to out and returns the last few.
func scanLines(r io.Reader, out build.Output) []string {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		last [tailLines]string // the last lines, the latest at n-1 (mod tailLines)
		n    int
	)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		out.Line(line, nil)
		last[n%tailLines] = line
		n++
	}
	// A line over the scanner's limit ends scanning; drain the rest so the
	// command does not block on a full pipe. Should the drain itself fail,
	// the caller closes the read end, and the command's writes then fail
	// instead of blocking, so its error has nothing to add.
	if sc.Err() != nil {
		_, _ = io.Copy(io.Discard, r)
	}
	tail := make([]string, 0, min(n, tailLines))
	for i := max(0, n-tailLines); i < n; i++ {
		tail = append(tail, last[i%tailLines])
	}
	return tail
}
