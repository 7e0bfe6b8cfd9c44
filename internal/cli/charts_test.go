package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// exampleCopy copies the bundled getting-started example to a folder of
// the test, tagged by its inputs (the copy is no git repository), lets
// edit change it, and returns its skaffold.yaml.
func exampleCopy(t *testing.T, edit func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(testutil.Root(t), "examples", "getting-started")
	if out, err := exec.Command("cp", "-r", src+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the example: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "skaffold.yaml")
	data := must(os.ReadFile(cfg))
	writeFile(t, cfg, bytes.Replace(data, []byte("build:\n"), []byte("build:\n  tagPolicy:\n    inputDigest: {}\n"), 1))
	// A page of its own, so that the engine's layer cache does not
	// serve the steps after COPY app/ from an earlier test.
	writeFile(t, filepath.Join(dir, "app", "www", "build.txt"), fmt.Appendf(nil, "%s %d\n", t.Name(), time.Now().UnixNano()))
	if edit != nil {
		edit(dir)
	}
	return cfg
}

// hoistIn starts hoist as a process in the folder dir, which its runs
// report as their working directory; wait returns its exit code and
// output.
func hoistIn(t *testing.T, dir string, args ...string) (wait func() (int, string)) {
	t.Helper()
	cmd := exec.Command(hoistBinary(t), args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill() // left running by a failed test
			_ = cmd.Wait()
		}
	})
	return func() (int, string) {
		_ = cmd.Wait() // the exit code tells
		return cmd.ProcessState.ExitCode(), out.String()
	}
}

// jsSeconds is a duration as the dashboard writes it, from times it
// reads to the millisecond.
func jsSeconds(start, end time.Time) string {
	ms := end.UnixMilli() - start.UnixMilli()
	switch {
	case ms < 1000:
		return fmt.Sprintf("%d ms", ms)
	case ms < 10000:
		return fmt.Sprintf("%.2f s", float64(ms)/1000)
	case ms < 60000:
		return fmt.Sprintf("%.1f s", float64(ms)/1000)
	}
	return fmt.Sprintf("%dm %.1fs", ms/60000, float64(ms%60000)/1000)
}

// slowDockerfile makes the example's build take a few seconds more, in a
// step of its own that prints as it goes.
func slowDockerfile(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "Dockerfile")
	data := string(must(os.ReadFile(path)))
	slow := "RUN for i in 1 2 3 4 5 6 7 8 9 10; do echo \"compiling part $i\"; sleep 0.4; done\n"
	writeFile(t, path, []byte(strings.Replace(data, "EXPOSE", slow+"EXPOSE", 1)))
}

// browse runs a browser action and returns its value; the test ends if
// it fails.
func browse[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// bar is a bar of the timeline as the page draws it, with where it
// starts and ends in seconds since the run started, read back through
// the chart's own scale.
type bar struct {
	Kind, Name, Detail, Status string
	Start, End                 string
	X1, X2                     float64 // pixels
	From, To                   float64 // seconds, by the chart's scale
}

const readBars = `(() => {
	const svg = document.querySelector('#timeline svg');
	if (!svg) return [];
	const x = svg.scale('x');
	return [...svg.querySelectorAll('.span')].map((r) => {
		const x1 = parseFloat(r.getAttribute('x')), x2 = x1 + parseFloat(r.getAttribute('width'));
		return {Kind: r.dataset.kind, Name: r.dataset.name, Detail: r.dataset.detail || '', Status: r.dataset.status,
			Start: r.dataset.start, End: r.dataset.end, X1: x1, X2: x2, From: x.invert(x1), To: x.invert(x2)};
	});
})()`

// TestDashboardTimeline runs the example, with a build made slower, while
// its page is open in headless Chromium: the timeline grows while the
// build runs (its bar reaches later, and its steps appear one by one),
// and once the run has ended each bar starts and ends, on the chart's
// own scale, where the events in the run's event log file say. Focusing
// a bar tells its exact start, duration and status. The page is saved as
// dashboard-timeline.png.
func TestDashboardTimeline(t *testing.T) {
	ctx := testutil.Browser(t)
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	c := startCollector(t, filepath.Join(t.TempDir(), "collector.db"))
	cfg := exampleCopy(t, func(dir string) { slowDockerfile(t, dir) })
	logFile := filepath.Join(t.TempDir(), "events.jsonl")
	wait := hoistIn(t, filepath.Dir(cfg), "run", "-f", cfg, "--default-repo", docker.Registry, "-n", ns, "--cache-artifacts=false",
		"--event-rpc-address", c.addr, "--event-log-file", logFile, "--event-format", "json")
	var id string
	for deadline := time.Now().Add(time.Minute); id == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the run wrote no event in a minute")
		}
		if evs := testutil.EventLog(t, logFile); len(evs) > 0 {
			id = evs[0].EventId
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Navigate("http://"+c.addr+"/runs/"+id),
		chromedp.WaitVisible(css(`#timeline .span[data-kind=build]`)),
	); err != nil {
		t.Fatalf("the run's page shows no build on its timeline: %v", err)
	}
	// While the build runs, its bar is drawn to the present: sampled
	// twice, it reaches later the second time, and steps are added.
	building := func() (bar, int, bool) {
		bars := browse(t, ctx, chromedp.Evaluate[[]bar](readBars))
		for _, b := range bars {
			if b.Kind == "build" {
				return b, len(bars), b.Status == "IN_PROGRESS"
			}
		}
		return bar{}, len(bars), false
	}
	first, n1, live := building()
	if !live {
		t.Fatalf("the build had ended when its page first showed it: %+v", first)
	}
	var later bar
	var n2 int
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		b, n, live := building()
		if !live || time.Now().After(deadline) {
			break
		}
		later, n2 = b, n
		if later.To > first.To+1 && n2 > n1 {
			break
		}
	}
	if !(later.To > first.To+1 && n2 > n1) {
		t.Errorf("the live timeline did not grow while the build ran: the build bar reached %.2fs with %d bars, then %.2fs with %d bars",
			first.To, n1, later.To, n2)
	}
	if code, out := wait(); code != 0 {
		t.Fatalf("hoist run: exit %d\n%s", code, out)
	}
	events := testutil.EventLog(t, logFile)
	checkRun(t, events, pb.Status_SUCCEEDED)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(css(`h1 .badge.s-SUCCEEDED`))); err != nil {
		t.Fatal(err)
	}
	want := expectedBars(events)
	var got []bar
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got = browse(t, ctx, chromedp.Evaluate[[]bar](readBars))
		if len(got) == len(want) && !strings.Contains(fmt.Sprint(got), "IN_PROGRESS") {
			break
		}
	}
	t0 := events[0].Event.Timestamp.AsTime()
	if diff := cmp.Diff(summarize(want), summarize(got)); diff != "" {
		t.Fatalf("the finished run's bars (-from the events +on the page):\n%s", diff)
	}
	for i, w := range want {
		g := got[i]
		// The bar's data says the events' times; its pixels say them on
		// the chart's scale, to a pixel (a bar too short to see is drawn
		// a few pixels wide, so only its start is checked).
		if ts, err := time.Parse(time.RFC3339Nano, g.Start); err != nil || !ts.Equal(w.start) {
			t.Errorf("%s %s starts at %s, want %s, the time of event %d", w.kind, w.name, g.Start, w.start.Format(time.RFC3339Nano), w.from)
		}
		if te, err := time.Parse(time.RFC3339Nano, g.End); err != nil || !te.Equal(w.end) {
			t.Errorf("%s %s ends at %s, want %s, the time of event %d", w.kind, w.name, g.End, w.end.Format(time.RFC3339Nano), w.to)
		}
		pxPerSec := (g.X2 - g.X1) / (g.To - g.From)
		from, to := w.start.Sub(t0).Seconds(), w.end.Sub(t0).Seconds()
		if math.Abs(g.From-from)*pxPerSec > 1 {
			t.Errorf("%s %s is drawn from %.3fs, want %.3fs", w.kind, w.name, g.From, from)
		}
		if (to-from)*pxPerSec >= 4 && math.Abs(g.To-to)*pxPerSec > 1 {
			t.Errorf("%s %s is drawn to %.3fs, want %.3fs", w.kind, w.name, g.To, to)
		}
	}
	// Focused, a bar tells its exact start, duration and status.
	tipText := func() string {
		return browse(t, ctx, chromedp.Evaluate[string](`(document.getElementById('tip') || {}).innerText || ''`))
	}
	if err := chromedp.Do(ctx, chromedp.Focus(css(`#timeline .span[data-kind=push]`))); err != nil {
		t.Fatal(err)
	}
	var push wantBar
	for _, w := range want {
		if w.kind == "push" {
			push = w
		}
	}
	tip := tipText()
	for _, s := range []string{"push getting-started", "status: succeeded", "started: " + push.start.Local().Format("2006-01-02 15:04:05.000"),
		"duration: " + jsSeconds(push.start, push.end)} {
		if !strings.Contains(tip, s) {
			t.Errorf("the focused push's tooltip says %q, not %q", tip, s)
		}
	}
	// The picture shows the longest step's bar focused.
	if err := chromedp.Do(ctx, chromedp.Focus(css(`#timeline .span[data-kind=step][data-detail*="RUN for i"]`))); err != nil {
		t.Fatal(err)
	}
	png := browse(t, ctx, chromedp.CaptureScreenshot())
	path := testutil.Artifact(t, "dashboard-timeline.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// wantBar is a bar as a run's events give it.
type wantBar struct {
	kind, name, detail string
	start, end         time.Time
	from, to           int
}

func summarize[B bar | wantBar](bars []B) []string {
	var out []string
	for _, b := range bars {
		switch b := any(b).(type) {
		case bar:
			out = append(out, b.Kind+" "+b.Name+" "+b.Detail+" "+b.Status)
		case wantBar:
			out = append(out, b.kind+" "+b.name+" "+b.detail+" SUCCEEDED")
		}
	}
	return out
}

// expectedBars reads the bars of a successful run of the example from its
// events, in the order the page draws them: the build, its steps and its
// push (from the engine's first push line), the deploy, the status check
// and its resources (each watched from the check's start).
func expectedBars(evs []*pb.Envelope) []wantBar {
	var build, push, deploy, check wantBar
	var steps, resources []wantBar
	at := func(e *pb.Envelope) time.Time { return e.Event.Timestamp.AsTime().Truncate(time.Microsecond) }
	endStep := func(t time.Time, seq int) {
		if n := len(steps); n > 0 && steps[n-1].end.IsZero() {
			steps[n-1].end, steps[n-1].to = t, seq
		}
	}
	for _, e := range evs {
		seq := int(e.Event.Sequence)
		switch {
		case e.Event.GetBuildEvent() != nil:
			b := e.Event.GetBuildEvent()
			if build.kind == "" {
				build = wantBar{kind: "build", name: b.Image, start: at(e), from: seq}
			}
			switch {
			case b.Step != nil:
				endStep(at(e), seq)
				steps = append(steps, wantBar{kind: "step", name: b.Image, detail: fmt.Sprintf("%d/%d %s", b.Step.Index, b.Step.Total, b.Step.Instruction), start: at(e), from: seq})
			case strings.HasPrefix(b.Log, "The push refers to repository") && push.kind == "":
				endStep(at(e), seq)
				push = wantBar{kind: "push", name: b.Image, start: at(e), from: seq}
			case b.Status == pb.Status_SUCCEEDED:
				endStep(at(e), seq)
				build.end, build.to, push.end, push.to = at(e), seq, at(e), seq
			}
		case e.Event.GetDeployEvent() != nil:
			if deploy.kind == "" {
				deploy = wantBar{kind: "deploy", name: e.Event.GetDeployEvent().Deployer, start: at(e), from: seq}
			}
			deploy.end, deploy.to = at(e), seq
		case e.Event.GetStatusCheckEvent() != nil:
			sc := e.Event.GetStatusCheckEvent()
			if sc.Resource == "" {
				if check.kind == "" {
					check = wantBar{kind: "check", name: "status check", start: at(e), from: seq}
				}
				check.end, check.to = at(e), seq
				continue
			}
			if sc.Status == pb.Status_SUCCEEDED {
				resources = append(resources, wantBar{kind: "resource", name: sc.Resource, start: check.start, end: at(e), from: check.from, to: seq})
			}
		}
	}
	out := append(append([]wantBar{build}, steps...), push, deploy, check)
	return append(out, resources...)
}

// TestDashboardTrends runs the example five times, the third with a
// Dockerfile that fails, and opens the trends of its working directory:
// the image's build chart shows five points, one marked failed, each
// with the duration and result its run's events give; the deploy and
// status check charts show the four runs that got that far. The page is
// saved as dashboard-trends.png.
func TestDashboardTrends(t *testing.T) {
	ctx := testutil.Browser(t)
	docker := testutil.Docker(t)
	_, ns := namespace(t, testutil.Kubernetes(t))
	c := startCollector(t, filepath.Join(t.TempDir(), "collector.db"))
	cfg := exampleCopy(t, nil)
	dir := filepath.Dir(cfg)
	dockerfile := string(must(os.ReadFile(filepath.Join(dir, "Dockerfile"))))
	type point struct {
		Run, Status string
		DurationMs  float64
	}
	var want []point
	for i := range 5 {
		failing := i == 2
		df := dockerfile
		if failing {
			df = strings.Replace(df, "EXPOSE", "RUN echo 'make: *** [all] Error 2' && exit 2\nEXPOSE", 1)
		}
		writeFile(t, filepath.Join(dir, "Dockerfile"), []byte(df))
		writeFile(t, filepath.Join(dir, "app", "www", "build.txt"), fmt.Appendf(nil, "run %d\n", i))
		logFile := filepath.Join(t.TempDir(), "events.jsonl")
		code, out := hoistIn(t, dir, "run", "-f", cfg, "--default-repo", docker.Registry, "-n", ns, "--cache-artifacts=false",
			"--event-rpc-address", c.addr, "--event-log-file", logFile, "--event-format", "text")()
		status := pb.Status_SUCCEEDED
		if failing {
			status = pb.Status_FAILED
		}
		events := testutil.EventLog(t, logFile)
		checkRun(t, events, status)
		if (code == 0) == failing {
			t.Fatalf("run %d: exit %d\n%s", i, code, out)
		}
		var start, end time.Time
		for _, e := range events {
			if b := e.Event.GetBuildEvent(); b != nil {
				if start.IsZero() {
					start = e.Event.Timestamp.AsTime().Truncate(time.Microsecond)
				}
				end = e.Event.Timestamp.AsTime().Truncate(time.Microsecond)
			}
		}
		want = append(want, point{events[0].EventId, status.String(), float64(end.Sub(start).Microseconds()) / 1000})
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	page := "http://" + c.addr + "/trends?dir=" + dir + "&command=run"
	if err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.WaitVisible(css(`.trend[data-kind=build] .point`)),
	); err != nil {
		t.Fatalf("the trends show no build: %v", err)
	}
	points := func(kind string) []point {
		return browse(t, ctx, chromedp.Evaluate[[]point](`[...document.querySelectorAll('.trend[data-kind=`+kind+`] .point')]
			.map((p) => ({Run: p.dataset.run, Status: p.dataset.status, DurationMs: parseFloat(p.dataset.durationMs)}))`))
	}
	builds := points("build")
	if diff := cmp.Diff(want, builds); diff != "" {
		t.Errorf("the build chart's points (-from the runs' events +on the page):\n%s", diff)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('.trend[data-kind=build] .point').length`)); n != 5 {
		t.Errorf("the build chart shows %d points, want 5", n)
	}
	if n := browse(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll('.trend[data-kind=build] .point.s-FAILED').length`)); n != 1 {
		t.Errorf("the build chart marks %d points failed, want 1", n)
	}
	for _, kind := range []string{"deploy", "resource"} {
		if got := points(kind); len(got) != 4 || strings.Contains(fmt.Sprint(got), "FAILED") {
			t.Errorf("the %s chart: %v, want the 4 runs that deployed, all succeeded", kind, got)
		}
	}
	dirs := browse(t, ctx, chromedp.Evaluate[string](`document.querySelector('select[name=dir]').value`))
	if dirs != dir {
		t.Errorf("the working directory filter shows %q, want %q", dirs, dir)
	}
	// The failed point, focused, says so.
	if err := chromedp.Do(ctx, chromedp.Focus(css(`.trend[data-kind=build] .point.s-FAILED`))); err != nil {
		t.Fatal(err)
	}
	tip := browse(t, ctx, chromedp.Evaluate[string](`document.getElementById('tip').innerText`))
	if !strings.Contains(tip, "failed in") || !strings.Contains(tip, want[2].Run) {
		t.Errorf("the failed point's tooltip: %q", tip)
	}
	png := browse(t, ctx, chromedp.FullScreenshot(100))
	path := testutil.Artifact(t, "dashboard-trends.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
