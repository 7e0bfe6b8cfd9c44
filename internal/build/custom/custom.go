// Package custom builds artifacts with a user's own command, as Skaffold's
// custom builder does: the command runs in the artifact's context with IMAGE,
// PUSH_IMAGE, BUILD_CONTEXT and PLATFORMS set, and must build (and, when
// PUSH_IMAGE is true, push) $IMAGE.
package custom

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/proc"
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
	tail, err := proc.RunLines(cmd, build.LinesTo(out), tailLines, build.Backlog(out))
	var start *proc.StartError
	if errors.As(err, &start) {
		return build.Result{}, fault.Wrap(start.Err, fault.BuildCustomCommandStart,
			fmt.Sprintf("starting the build command of %q", a.ImageName), "check that /bin/sh exists")
	}
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
