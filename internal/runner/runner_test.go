package runner_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/runner"
	"github.com/hoist-dev/hoist/internal/testutil"
	"github.com/hoist-dev/hoist/internal/version"
)

func TestStart(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Build:  config.Build{Artifacts: []*config.Artifact{{ImageName: "app"}, {ImageName: "web"}}},
		Deploy: config.Deploy{Kubectl: &config.KubectlDeploy{}},
	}
	for _, tc := range []struct {
		name string
		cfg  *config.Config
		want *pb.MetaEvent
	}{
		{name: "with a config", cfg: cfg, want: &pb.MetaEvent{Command: "run", Version: version.Version(), WorkingDir: wd,
			Artifacts: []string{"app", "web"}, Deployer: "kubectl"}},
		{name: "without a config", want: &pb.MetaEvent{Command: "run", Version: version.Version(), WorkingDir: wd}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := testutil.NewBus(t)
			runner.Start(bus, "run", tc.cfg)
			want := []*pb.Event{{Payload: &pb.Event_MetaEvent{MetaEvent: tc.want}}}
			if diff := diffEvents(want, published(t, bus)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFinish(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want *pb.TerminationEvent
	}{
		{name: "success", want: &pb.TerminationEvent{Status: pb.Status_SUCCEEDED}},
		{
			name: "a fault",
			err:  fmt.Errorf("building: %w", fault.New(fault.BuildRunFailed, "exit status 2", "fix the command")),
			want: &pb.TerminationEvent{Status: pb.Status_FAILED, Error: &pb.Error{
				Code: "BUILD_RUN_FAILED", Message: "building: exit status 2", Suggestions: []string{"fix the command"}}},
		},
		{
			name: "an error without a code",
			err:  errors.New("boom"),
			want: &pb.TerminationEvent{Status: pb.Status_FAILED, Error: &pb.Error{Code: "UNKNOWN", Message: "boom"}},
		},
		{
			name: "Ctrl-C",
			err:  fmt.Errorf("deploying: %w", context.Canceled),
			want: &pb.TerminationEvent{Status: pb.Status_CANCELED, Error: &pb.Error{Code: "CANCELED", Message: "canceled"}},
		},
		{
			name: "stopped by another part's failure",
			err:  fault.Wrap(errors.New("boom"), fault.Canceled, `canceled because the build of "app" failed`),
			want: &pb.TerminationEvent{Status: pb.Status_CANCELED, Error: &pb.Error{
				Code: "CANCELED", Message: `canceled because the build of "app" failed: boom`}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := testutil.NewBus(t)
			runner.Finish(bus, tc.err)
			want := []*pb.Event{{Payload: &pb.Event_TerminationEvent{TerminationEvent: tc.want}}}
			if diff := diffEvents(want, published(t, bus)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if !bus.Ended() {
				t.Error("the run did not end")
			}
		})
	}
}
