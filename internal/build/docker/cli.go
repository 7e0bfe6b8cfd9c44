package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"

	hbuild "github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/proc"
)

// cliArgs are the arguments of docker build for a, as ref, with its
// Dockerfile (relative to the context) and templated build arguments.
func cliArgs(a *config.Artifact, ref, dockerfile string, args map[string]*string) []string {
	d := a.Docker
	out := []string{"build", "--file", dockerfile, "--tag", ref}
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if v := args[k]; v != nil {
			out = append(out, "--build-arg", k+"="+*v)
		} else {
			out = append(out, "--build-arg", k)
		}
	}
	if d.Target != "" {
		out = append(out, "--target", d.Target)
	}
	if d.Network != "" {
		out = append(out, "--network", d.Network)
	}
	if d.NoCache {
		out = append(out, "--no-cache")
	}
	if d.PullParent {
		out = append(out, "--pull")
	}
	if d.Squash {
		out = append(out, "--squash")
	}
	for _, c := range d.CacheFrom {
		out = append(out, "--cache-from", c)
	}
	for _, h := range d.AddHost {
		out = append(out, "--add-host", h)
	}
	for _, s := range d.Secrets {
		v := "id=" + s.ID
		switch {
		case s.Src != "":
			v += ",src=" + s.Src
		case s.Env != "":
			v += ",env=" + s.Env
		}
		out = append(out, "--secret", v)
	}
	if d.SSH != "" {
		out = append(out, "--ssh", d.SSH)
	}
	for _, stage := range d.NoCacheFilter {
		out = append(out, "--no-cache-filter", stage)
	}
	out = append(out, d.CliFlags...)
	return append(out, a.Context)
}

// buildCLI builds a with the docker command, against the same engine
// (DOCKER_HOST), passing each line of its output on.
func (b *Builder) buildCLI(ctx context.Context, out hbuild.Output, a *config.Artifact, ref, dockerfile string, args map[string]*string) error {
	cmd := exec.CommandContext(ctx, "docker", cliArgs(a, ref, dockerfile, args)...)
	cmd.Dir = a.Context
	cmd.Env = os.Environ()
	if b.UseBuildkit {
		cmd.Env = append(cmd.Env, "DOCKER_BUILDKIT=1")
	} else {
		cmd.Env = append(cmd.Env, "DOCKER_BUILDKIT=0")
	}
	tail, err := proc.RunLines(cmd, hbuild.LinesTo(out), tailLines, hbuild.Backlog(out))
	if err == nil || ctx.Err() != nil {
		return err
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fault.New(fault.BuildRunFailed,
			fmt.Sprintf("docker build of %q exited with status %d; last output: %s", a.ImageName, exit.ExitCode(), strings.Join(tail, "\n")),
			"run the same docker build by hand in "+a.Context+" to see the failure")
	}
	return fault.Wrap(err, fault.BuildDockerFailed, fmt.Sprintf("running docker build for %q", a.ImageName),
		"install the docker command (Debian: docker.io), or turn build.local.useDockerCLI off")
}
