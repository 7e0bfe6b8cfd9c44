package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
