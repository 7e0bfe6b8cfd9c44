package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/build/tag"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/proc"
)

// Tests is the test phase: after the build and before the deploy, it runs
// the custom tests of each built image, in the order of the builds, and
// reports them as testEvents. The first failure ends it.
type Tests struct {
	Bus   *event.Bus
	Cases []*config.TestCase
}

func (t *Tests) publish(e *pb.TestEvent) {
	t.Bus.Publish(&pb.Event{Payload: &pb.Event_TestEvent{TestEvent: e}})
}

// Run tests the images of results that have tests.
func (t *Tests) Run(ctx context.Context, results []build.Result) error {
	for _, r := range results {
		var cases []*config.TestCase
		for _, tc := range t.Cases {
			if tc.Image == r.ImageName && len(tc.Custom) > 0 {
				cases = append(cases, tc)
			}
		}
		if len(cases) == 0 {
			continue
		}
		t.publish(&pb.TestEvent{Image: r.ImageName, Status: pb.Status_IN_PROGRESS})
		for _, tc := range cases {
			for _, ct := range tc.Custom {
				if err := t.custom(ctx, r, tc, ct); err != nil {
					status := pb.Status_FAILED
					if ctx.Err() != nil {
						status = pb.Status_CANCELED
						err = fault.Wrap(context.Cause(ctx), fault.Canceled, fmt.Sprintf("tests of %q canceled", r.ImageName))
					}
					t.publish(&pb.TestEvent{Image: r.ImageName, Status: status, Error: ErrorOf(err)})
					return err
				}
			}
		}
		t.publish(&pb.TestEvent{Image: r.ImageName, Status: pb.Status_SUCCEEDED})
	}
	return nil
}

// custom runs one custom test: sh -c command in the test's context, with
// IMAGE (the built reference) and TEST_CONTEXT, as Skaffold runs it.
func (t *Tests) custom(ctx context.Context, r build.Result, tc *config.TestCase, ct *config.CustomTest) error {
	command, err := expandEnvTemplate(ct.Command)
	if err != nil {
		return fault.Wrap(err, fault.TestFailed, fmt.Sprintf("the test command %q of %q is not a valid template", ct.Command, r.ImageName),
			"fix test[].custom[].command; {{.NAME}} is the environment variable NAME")
	}
	runCtx := ctx
	if ct.TimeoutSeconds > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, time.Duration(ct.TimeoutSeconds)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(runCtx, "/bin/sh", "-c", command)
	cmd.Dir = tc.Context
	cmd.Env = append([]string{"IMAGE=" + r.Reference(), "TEST_CONTEXT=" + tc.Context}, os.Environ()...)
	tail, err := proc.Run(cmd, func(l string) {
		t.publish(&pb.TestEvent{Image: r.ImageName, Status: pb.Status_IN_PROGRESS, Log: l})
	}, 5)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(runCtx.Err(), context.DeadlineExceeded):
		return fault.New(fault.TestTimedOut, fmt.Sprintf("test command %q of %q ran longer than %ds", ct.Command, r.ImageName, ct.TimeoutSeconds),
			"raise test[].custom[].timeoutSeconds, or find why it hangs")
	}
	msg := fmt.Sprintf("test command %q of %q failed: %v", ct.Command, r.ImageName, err)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		msg = fmt.Sprintf("test command %q of %q exited with status %d", ct.Command, r.ImageName, exit.ExitCode())
	}
	if len(tail) > 0 {
		msg += "; last output: " + strings.Join(tail, " | ")
	}
	return fault.New(fault.TestFailed, msg, "run it by hand in "+tc.Context+" with IMAGE="+r.Reference())
}

// expandEnvTemplate expands {{.NAME}} with the environment, as Skaffold
// does for test commands.
func expandEnvTemplate(s string) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	return tag.Template(s, tag.Env())
}
