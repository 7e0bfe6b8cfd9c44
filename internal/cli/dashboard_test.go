package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestDashboardShowsARunLive opens the collector's dashboard in headless
// Chromium, signs in with the token, and watches a build that prints a
// line every 100ms: the run appears in the list, its log lines arrive on
// its page while it runs, and the page ends SUCCEEDED. The page is saved
// as a screenshot.
func TestDashboardShowsARunLive(t *testing.T) {
	ctx := testutil.Browser(t)
	reg := startRegistry(t)
	c := startCollector(t, filepath.Join(t.TempDir(), "collector.db"), "--token", "dash")
	cfg := slowProject(t, 40)
	base := "http://" + c.addr
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// Without the cookie the dashboard asks for the token.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(css(`input[name=token]`)),
		chromedp.SendKeys(css(`input[name=token]`), "dash"),
		chromedp.Submit(css(`input[name=token]`)),
		chromedp.WaitVisible(css(`#runs`)),
	); err != nil {
		t.Fatalf("signing in: %v", err)
	}
	done := make(chan result, 1)
	go func() {
		done <- run(t, t.Context(), "build", "-f", cfg, "--default-repo", reg,
			"--event-rpc-address", c.addr, "--event-rpc-token", "dash", "--cache-artifacts=false")
	}()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(css(`#runs tr.run`))); err != nil {
		t.Fatalf("the run did not appear in the list: %v", err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(css(`#runs tr.run .badge`)))
	if err != nil {
		t.Fatal(err)
	}
	if status != "in progress" {
		t.Errorf("the new run shows %q, want in progress", status)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(css(`#runs tr.run a`)),
		chromedp.WaitVisible(css(`.card.build .log:not([hidden]) .line`)),
	); err != nil {
		t.Fatalf("the run's page shows no build log: %v", err)
	}
	lines := chromedp.Evaluate[int](`parseInt(document.querySelector('.card.build .step .count').textContent)`)
	first, err := chromedp.Run(ctx, lines)
	if err != nil {
		t.Fatal(err)
	}
	later := first
	deadline := time.Now().Add(30 * time.Second)
	for later <= first && time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		if later, err = chromedp.Run(ctx, lines); err != nil {
			t.Fatal(err)
		}
	}
	if later <= first {
		t.Fatalf("no log lines arrived live: %d, then %d", first, later)
	}
	r := <-done
	if r.code != 0 {
		t.Fatalf("hoist build: exit %d\n%s", r.code, r.stderr)
	}
	checkRun(t, r.events, pb.Status_SUCCEEDED)
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(css(`h1 .badge.s-SUCCEEDED`)),
		chromedp.WaitVisible(css(`#pushes td`)),
	); err != nil {
		t.Fatalf("the run's page did not end SUCCEEDED with its push: %v", err)
	}
	// Unfold the finished build's log for the picture.
	if err := chromedp.Do(ctx, chromedp.Click(css(`.card.build .step .row`)), chromedp.WaitVisible(css(`.card.build .log:not([hidden]) .line`))); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := testutil.Artifact(t, "dashboard-run.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (lines went from %d to %d while the page was open)", path, first, later)
}

func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// TestDashboardShowsApplicationLogsPerPod follows a pod with hoist run
// --tail pushing to a collector, and checks that the run's page shows the
// pod's application logs in a card of its own: its containers, and every
// line the event log file has, in order, each after its container's name.
func TestDashboardShowsApplicationLogsPerPod(t *testing.T) {
	ctx := testutil.Browser(t)
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	c := startCollector(t, filepath.Join(t.TempDir(), "collector.db"), "--token", "dash")
	cfg := counterProject(t, docker.BaseImage, 3)
	logFile := filepath.Join(t.TempDir(), "events.jsonl")
	runCtx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	done := make(chan result, 1)
	go func() {
		done <- run(t, runCtx, "run", "--tail", "-f", cfg, "-n", ns, "--event-log-file", logFile,
			"--event-rpc-address", c.addr, "--event-rpc-token", "dash")
	}()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var lines []string
	var pod string
	for deadline := time.Now().Add(2 * time.Minute); !slices.Contains(lines, "counter │ run 2 line 3"); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the pod's lines did not arrive: %q", lines)
		}
		lines = nil
		for _, e := range testutil.EventLog(t, logFile) {
			if l := e.Event.GetApplicationLogEvent(); l != nil {
				pod = l.Pod
				lines = append(lines, l.Container+" │ "+l.Message)
			}
		}
	}
	runID := testutil.EventLog(t, logFile)[0].EventId
	if err := chromedp.Do(ctx,
		chromedp.Navigate("http://"+c.addr+"/runs/"+runID),
		chromedp.WaitVisible(css(`input[name=token]`)),
		chromedp.SendKeys(css(`input[name=token]`), "dash"),
		chromedp.Submit(css(`input[name=token]`)),
		chromedp.WaitVisible(css(`.card.pod .line`)),
	); err != nil {
		t.Fatalf("the run's page shows no application log: %v", err)
	}
	type card struct {
		Pod, Namespace, Containers, Count string
		Lines                             []string
	}
	read := chromedp.Evaluate[[]card](`[...document.querySelectorAll('.card.pod')].map((c) => ({
		Pod: c.dataset.pod, Namespace: c.dataset.namespace,
		Containers: c.querySelector('.containers').textContent, Count: c.querySelector('.count').textContent,
		Lines: [...c.querySelectorAll('.line')].sort((a, b) => parseInt(a.style.top) - parseInt(b.style.top))
			.map((l) => l.textContent.slice(l.querySelector('.n').textContent.length)),
	}))`)
	want := []card{{Pod: pod, Namespace: ns, Containers: "setup, counter", Count: fmt.Sprintf("%d lines", len(lines)), Lines: lines}}
	var got []card
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var err error
		if got, err = chromedp.Run(ctx, read); err != nil {
			t.Fatal(err)
		}
		if cmp.Equal(want, got) || time.Now().After(deadline) {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the application logs on the page (-want +got):\n%s", diff)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := testutil.Artifact(t, "dashboard-logs.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	interrupt()
	if r := <-done; r.code != 0 {
		t.Fatalf("hoist run --tail: exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("screenshot: %s", path)
}
