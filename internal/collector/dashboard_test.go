package collector_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestRunPageOfADevSession opens the page of a hoist dev session whose
// second iteration failed: it lists both iterations, shows only the second
// build's steps, the deploy's objects and the failure with its suggestion.
func TestRunPageOfADevSession(t *testing.T) {
	ctx := testutil.Browser(t)
	addr := serve(t, filepath.Join(t.TempDir(), "c.db"), collector.Options{})
	build := func(st pb.Status, log string, step *pb.Step) *pb.Event {
		return &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "web", Status: st, Log: log, Step: step}}}
	}
	iteration := func(n uint32, st pb.Status, e *pb.Error, files ...string) *pb.Event {
		return &pb.Event{Payload: &pb.Event_DevLoopEvent{DevLoopEvent: &pb.DevLoopEvent{Iteration: n, Status: st, ChangedFiles: files, Error: e}}}
	}
	failure := &pb.Error{Code: "BUILD_RUN_FAILED", Message: "RUN go build returned 2", Suggestions: []string{"fix main.go:12 and save again"}}
	id, _ := pushEvents(t, addr, "", []*pb.Event{
		{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "dev", Artifacts: []string{"web"}, Deployer: "kubectl"}}},
		iteration(1, pb.Status_IN_PROGRESS, nil),
		build(pb.Status_IN_PROGRESS, "", nil),
		build(pb.Status_IN_PROGRESS, "Step 1/2 : FROM busybox", &pb.Step{Index: 1, Total: 2, Instruction: "FROM busybox"}),
		build(pb.Status_IN_PROGRESS, "Step 2/2 : RUN go build", &pb.Step{Index: 2, Total: 2, Instruction: "RUN go build"}),
		{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "web", Status: pb.Status_SUCCEEDED,
			Artifact: &pb.Artifact{ImageName: "web", Tag: "127.0.0.1:15000/web:v1", Digest: "sha256:" + strings.Repeat("ab", 32)}}}},
		{Payload: &pb.Event_DeployEvent{DeployEvent: &pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Deployer: "kubectl"}}},
		{Payload: &pb.Event_DeployEvent{DeployEvent: &pb.DeployEvent{Status: pb.Status_IN_PROGRESS, Deployer: "kubectl",
			Resources: []*pb.Resource{{Kind: "Deployment", Namespace: "dev", Name: "web", Action: "created"}}}}},
		{Payload: &pb.Event_DeployEvent{DeployEvent: &pb.DeployEvent{Status: pb.Status_SUCCEEDED, Deployer: "kubectl", Manifests: []string{"k8s/web.yaml"}}}},
		{Payload: &pb.Event_StatusCheckEvent{StatusCheckEvent: &pb.StatusCheckEvent{Resource: "Deployment/dev/web", Status: pb.Status_SUCCEEDED, Message: "rolled out"}}},
		iteration(1, pb.Status_SUCCEEDED, nil),
		iteration(2, pb.Status_IN_PROGRESS, nil, "main.go"),
		build(pb.Status_IN_PROGRESS, "", nil),
		build(pb.Status_IN_PROGRESS, "Step 2/2 : RUN go build", &pb.Step{Index: 2, Total: 2, Instruction: "RUN go build"}),
		build(pb.Status_IN_PROGRESS, "main.go:12: syntax error", nil),
		{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "web", Status: pb.Status_FAILED, Error: failure}}},
		iteration(2, pb.Status_FAILED, failure, "main.go"),
		{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_CANCELED}}},
	})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate("http://"+addr+"/runs/"+id),
		chromedp.WaitVisible(chromedp.CSS(`h1 .badge.s-CANCELED`)),
		chromedp.WaitVisible(chromedp.CSS(`#iterations tbody tr`)),
	); err != nil {
		t.Fatal(err)
	}
	text := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	if got := text(`[...document.querySelectorAll('#iterations tbody tr')].map(r => r.innerText.replace(/\s+/g, ' ').trim()).join(' | ')`); got != "2 failed main.go BUILD_RUN_FAILED RUN go build returned 2 fix main.go:12 and save again | 1 succeeded" {
		t.Errorf("iterations: %q", got)
	}
	if got := text(`[...document.querySelectorAll('.card.build .step .row')].map(r => r.innerText.replace(/\s+/g, ' ').trim()).join(' | ')`); got != "▾ Step 2/2: RUN go build 2 lines" {
		t.Errorf("the build card's steps: %q, want only the second build's", got)
	}
	if got := text(`document.querySelector('.card.build .log:not([hidden])').innerText.replace(/\s+/g, ' ').trim()`); !strings.Contains(got, "main.go:12: syntax error") {
		t.Errorf("the failed step's log: %q", got)
	}
	if got := text(`document.getElementById('deploy').innerText.replace(/\s+/g, ' ')`); !strings.Contains(got, "k8s/web.yaml") || !strings.Contains(got, "dev/web created") {
		t.Errorf("deploy: %q", got)
	}
	if got := text(`document.getElementById('checks').innerText.replace(/\s+/g, ' ')`); !strings.Contains(got, "Deployment/dev/web succeeded rolled out") {
		t.Errorf("status checks: %q", got)
	}
	if got := text(`document.getElementById('errors').innerText.replace(/\s+/g, ' ')`); !strings.Contains(got, "build web, dev iteration 2: BUILD_RUN_FAILED RUN go build returned 2 fix main.go:12 and save again") {
		t.Errorf("errors: %q", got)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	writeArtifact(t, "dashboard-dev-session.png", png)
}

func writeArtifact(t *testing.T, name string, data []byte) {
	t.Helper()
	path := testutil.Artifact(t, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", path)
}
