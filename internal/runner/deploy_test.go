package runner_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/build"
	"github.com/hoist-dev/hoist/internal/config"
	"github.com/hoist-dev/hoist/internal/deploy"
	"github.com/hoist-dev/hoist/internal/deploy/podlogs"
	"github.com/hoist-dev/hoist/internal/fault"
	"github.com/hoist-dev/hoist/internal/runner"
	"github.com/hoist-dev/hoist/internal/testutil"
)

func TestDeploys(t *testing.T) {
	resources := []deploy.Resource{
		{Kind: "Deployment", Namespace: "ns", Name: "app", Action: "created"},
		{Kind: "Service", Namespace: "ns", Name: "app", Action: "unchanged"},
	}
	files := []string{"k8s/app.yaml"}
	errApply := fault.New(fault.DeployApplyFailed, "applying k8s/app.yaml: forbidden", "check your RBAC")
	deployEv := func(status pb.Status, r *pb.Resource, manifests []string, err *pb.Error) *pb.Event {
		e := &pb.DeployEvent{Deployer: "kubectl", Status: status, Manifests: manifests, Error: err}
		if r != nil {
			e.Resources = []*pb.Resource{r}
		}
		return deployEvent(e)
	}
	start := deployEv(pb.Status_IN_PROGRESS, nil, nil, nil)
	for _, tc := range []struct {
		name     string
		deployer *fakeDeployer
		// phase runs on d: Run, Delete or Fail.
		phase    func(ctx context.Context, d *runner.Deploys) error
		canceled bool
		want     []*pb.Event
		wantCode fault.Code
	}{
		{
			name:     "deployed, one event per object",
			deployer: &fakeDeployer{applied: resources, files: files},
			phase:    func(ctx context.Context, d *runner.Deploys) error { return d.Run(ctx, nil) },
			want: []*pb.Event{
				start,
				deployEv(pb.Status_IN_PROGRESS, &pb.Resource{Kind: "Deployment", Namespace: "ns", Name: "app", Action: "created"}, nil, nil),
				deployEv(pb.Status_IN_PROGRESS, &pb.Resource{Kind: "Service", Namespace: "ns", Name: "app", Action: "unchanged"}, nil, nil),
				deployEv(pb.Status_SUCCEEDED, nil, files, nil),
			},
		},
		{
			name:     "failed",
			deployer: &fakeDeployer{files: files, err: errApply},
			phase:    func(ctx context.Context, d *runner.Deploys) error { return d.Run(ctx, nil) },
			want: []*pb.Event{start, deployEv(pb.Status_FAILED, nil, files,
				&pb.Error{Code: "DEPLOY_APPLY_FAILED", Message: errApply.Message, Suggestions: []string{"check your RBAC"}})},
			wantCode: fault.DeployApplyFailed,
		},
		{
			name:     "canceled",
			deployer: &fakeDeployer{files: files},
			phase:    func(ctx context.Context, d *runner.Deploys) error { return d.Run(ctx, nil) },
			canceled: true,
			want: []*pb.Event{start, deployEv(pb.Status_CANCELED, nil, files,
				&pb.Error{Code: "CANCELED", Message: "deploy canceled: context canceled"})},
			wantCode: fault.Canceled,
		},
		{
			name:     "deleted",
			deployer: &fakeDeployer{applied: resources, files: files},
			phase:    func(ctx context.Context, d *runner.Deploys) error { return d.Delete(ctx) },
			want: []*pb.Event{
				start,
				deployEv(pb.Status_IN_PROGRESS, &pb.Resource{Kind: "Deployment", Namespace: "ns", Name: "app", Action: "deleted"}, nil, nil),
				deployEv(pb.Status_IN_PROGRESS, &pb.Resource{Kind: "Service", Namespace: "ns", Name: "app", Action: "deleted"}, nil, nil),
				deployEv(pb.Status_SUCCEEDED, nil, files, nil),
			},
		},
		{
			name:  "could not start",
			phase: func(_ context.Context, d *runner.Deploys) error { return runner.Fail(d.Bus, "kubectl", errApply) },
			want: []*pb.Event{start, deployEv(pb.Status_FAILED, nil, nil,
				&pb.Error{Code: "DEPLOY_APPLY_FAILED", Message: errApply.Message, Suggestions: []string{"check your RBAC"}})},
			wantCode: fault.DeployApplyFailed,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus := testutil.NewBus(t)
			d := &runner.Deploys{Bus: bus, Deployers: []deploy.Deployer{tc.deployer}}
			ctx, cancel := context.WithCancel(t.Context())
			if tc.canceled {
				cancel()
			}
			defer cancel()
			err := tc.phase(ctx, d)
			if got := codeOf(err); got != tc.wantCode {
				t.Errorf("returned %v (code %q), want code %q", err, got, tc.wantCode)
			}
			if diff := diffEvents(tc.want, published(t, bus)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeploysPassBuilds(t *testing.T) {
	dep := &fakeDeployer{}
	d := &runner.Deploys{Bus: testutil.NewBus(t), Deployers: []deploy.Deployer{dep}}
	builds := []build.Result{{ImageName: "app", Tag: "reg/app:v1", Digest: "sha256:1"}}
	if err := d.Run(t.Context(), builds); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]build.Result{builds}, dep.deployed); diff != "" {
		t.Errorf("deployed (-want +got):\n%s", diff)
	}
}

func TestDeploysRunDeployersInOrderAndDeleteBackwards(t *testing.T) {
	kube := &fakeDeployer{applied: []deploy.Resource{{Kind: "ConfigMap", Namespace: "ns", Name: "cfg", Action: "created"}}}
	failing := fault.New(fault.DeployDeleteFailed, "deleting release app")
	helm := &fakeDeployer{name: "helm", applied: []deploy.Resource{{Kind: "Service", Namespace: "ns", Name: "app", Action: "created"}}}
	bus := testutil.NewBus(t)
	d := &runner.Deploys{Bus: bus, Deployers: []deploy.Deployer{kube, helm}}
	if err := d.Run(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	helm.err = failing
	if err := d.Delete(t.Context()); codeOf(err) != fault.DeployDeleteFailed {
		t.Errorf("Delete returned %v, want the helm deployer's failure", err)
	}
	var got []string
	for _, e := range published(t, bus) {
		de := e.GetDeployEvent()
		line := de.Deployer + " " + de.Status.String()
		for _, r := range de.Resources {
			line += " " + r.Kind + "/" + r.Name + " " + r.Action
		}
		got = append(got, line)
	}
	want := []string{
		"kubectl IN_PROGRESS", "kubectl IN_PROGRESS ConfigMap/cfg created", "kubectl SUCCEEDED",
		"helm IN_PROGRESS", "helm IN_PROGRESS Service/app created", "helm SUCCEEDED",
		// Deleting goes backwards, and a failure does not stop the rest.
		"helm IN_PROGRESS", "helm IN_PROGRESS Service/app deleted", "helm FAILED",
		"kubectl IN_PROGRESS", "kubectl IN_PROGRESS ConfigMap/cfg deleted", "kubectl SUCCEEDED",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// A failing deploy hook is named by its place among the phase's hooks.
func TestDeployHookFailureNamesTheHook(t *testing.T) {
	var out strings.Builder
	d := &runner.Deploys{Bus: testutil.NewBus(t), Deployers: []deploy.Deployer{&fakeDeployer{}}, HookOut: &out,
		Hooks: &config.DeployHooks{Before: []config.DeployHook{
			{Host: &config.HostHook{Command: []string{"echo", "first"}}},
			{Host: &config.HostHook{Command: []string{"sh", "-c", "exit 6"}}},
		}}}
	err := d.Run(t.Context(), nil)
	if codeOf(err) != fault.DeployHookFailed || !strings.Contains(err.Error(), "pre-deploy hook 2 (sh -c exit 6) failed: exit status 6") {
		t.Errorf("error %v", err)
	}
	if out.String() != "[pre-deploy hook] first\n" {
		t.Errorf("hook output %q", out.String())
	}
}

// recordingFollower records the namespaces it is asked to follow.
type recordingFollower struct{ namespaces []string }

func (r *recordingFollower) Follow(namespaces ...string) {
	for _, ns := range namespaces {
		if !slices.Contains(r.namespaces, ns) {
			r.namespaces = append(r.namespaces, ns)
		}
	}
}

// Each deployer's namespaces are followed as soon as it has deployed,
// before the status check.
func TestDeploysFollowTheLogsOfWhatTheyDeploy(t *testing.T) {
	kube := &fakeDeployer{applied: []deploy.Resource{{Kind: "Deployment", Namespace: "web", Name: "app"}, {Kind: "Namespace", Name: "jobs"}}}
	helm := &fakeDeployer{name: "helm", applied: []deploy.Resource{{Kind: "Job", Namespace: "jobs", Name: "migrate"}, {Kind: "Service", Namespace: "web", Name: "app"}}}
	docker := &fakeDeployer{name: "docker", applied: []deploy.Resource{{Kind: "Container", Name: "api"}}}
	logs := &recordingFollower{}
	d := &runner.Deploys{Bus: testutil.NewBus(t), Deployers: []deploy.Deployer{kube, helm, docker}, Logs: logs}
	if err := d.Run(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"web", "jobs"}, logs.namespaces); diff != "" {
		t.Errorf("namespaces followed (-want +got):\n%s", diff)
	}
}

func TestApplicationLogs(t *testing.T) {
	bus := testutil.NewBus(t)
	runner.ApplicationLogs(bus)(podlogs.Line{Namespace: "web", Pod: "app-1", Container: "app", Message: "listening"})
	want := []*pb.Event{{Payload: &pb.Event_ApplicationLogEvent{ApplicationLogEvent: &pb.ApplicationLogEvent{
		Namespace: "web", Pod: "app-1", Container: "app", Message: "listening"}}}}
	if diff := diffEvents(want, published(t, bus)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestDeploysTellWhatWasDeployedOnlyOnSuccess(t *testing.T) {
	kube := &fakeDeployer{applied: []deploy.Resource{{Kind: "Deployment", Namespace: "ns", Name: "app", Action: "created"}}}
	helm := &fakeDeployer{name: "helm", applied: []deploy.Resource{{Kind: "Service", Namespace: "ns", Name: "app", Action: "created"}}}
	var told [][]deploy.Resource
	d := &runner.Deploys{Bus: testutil.NewBus(t), Deployers: []deploy.Deployer{kube, helm},
		Deployed: func(_ context.Context, rs []deploy.Resource) { told = append(told, rs) }}
	if err := d.Run(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	helm.err = fault.New(fault.DeployApplyFailed, "forbidden")
	if err := d.Run(t.Context(), nil); err == nil {
		t.Fatal("the failing deploy succeeded")
	}
	want := [][]deploy.Resource{append(slices.Clone(kube.applied), helm.applied...)}
	if diff := cmp.Diff(want, told); diff != "" {
		t.Errorf("Deployed was told (-want +got):\n%s", diff)
	}
}
