package testutil

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Browser starts the test environment's headless Chromium and returns a
// chromedp context for one tab, ended with the test. The flags keep
// Chromium off the network: no background requests, no updates, no sync.
func Browser(t testing.TB) context.Context {
	t.Helper()
	chromium := Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, focused); err != nil {
		t.Fatalf("starting Chromium (%s): %v", chromium, err)
	}
	return ctx
}

// focused makes the tab behave as the focused window of a desktop, which
// a headless one is not: focus and blur events fire, as a person's
// keyboard would have them.
func focused(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
	_, err := cdp.Call(ctx, tgt, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
	return chromedp.Void{}, err
}

// Artifact returns where a test saves a file for people to look at: under
// $HOIST_TEST_ARTIFACTS, or out/test-artifacts in the repository.
func Artifact(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("HOIST_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(Root(t), "out", "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, name)
}
