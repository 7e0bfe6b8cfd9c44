package view_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/testutil/termshot"
	"github.com/hoist-dev/hoist/internal/view"
)

// terminal is what a live view writes to: the frames, each one write, and
// the screen they make.
type terminal struct {
	mu     sync.Mutex
	screen *termshot.Screen
	raw    bytes.Buffer
	writes int
}

func newTerminal(cols, rows int) *terminal {
	return &terminal{screen: termshot.NewScreen(cols, rows)}
}

func (t *terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writes++
	t.raw.Write(p)
	return t.screen.Write(p)
}

func (t *terminal) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.screen.Lines()
}

// clock is a time the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(ms int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t0.Add(time.Duration(ms) * time.Millisecond)
}

// waitFor waits until the terminal shows want as its lines.
func waitFor(t *testing.T, term *terminal, want []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := term.lines()
		if cmp.Equal(want, got) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal shows (-want +got):\n%s", cmp.Diff(want, got))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLiveRedrawsInPlace follows a run on an emulated terminal: the live
// lines are redrawn where they are, what is done is printed above them,
// output written to stderr goes above them too, and the end leaves the
// printed lines and the summary, without live lines.
func TestLiveRedrawsInPlace(t *testing.T) {
	term := newTerminal(160, 20)
	clk := &clock{}
	clk.set(1000)
	live := view.NewLive(term, view.LiveOptions{Interval: 5 * time.Millisecond, Now: clk.Now, Size: func() (int, int) { return 160, 20 }})
	defer func() { _ = live.Close() }()
	evs := envelopes([]at{
		{0, meta("build", "frontend", "backend")},
		{0, build("frontend", pb.Status_IN_PROGRESS)},
		{0, build("backend", pb.Status_IN_PROGRESS)},
		{10, stepLog("frontend", 1, 3, "FROM busybox")},
		{20, stepLog("backend", 4, 6, "RUN make")},
		{2000, stepLog("frontend", 2, 3, "COPY . /app")},
		{3000, built("frontend", "reg/frontend:v1", digest)},
		{4000, built("backend", "reg/backend:v1", digest)},
		{4000, end(pb.Status_SUCCEEDED, nil)},
	})
	write := func(envs ...*pb.Envelope) {
		for _, e := range envs {
			if err := live.Write(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := live.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	header := "hoist build · hoist version dev · run id run-1"
	write(evs[:5]...)
	waitFor(t, term, []string{
		header,
		"⠋ step 1/3   frontend  1.0s  FROM busybox",
		"⠋ step 4/6   backend   1.0s  RUN make",
	})
	clk.set(2500)
	write(evs[5])
	waitFor(t, term, []string{
		header,
		"⠴ step 2/3   frontend  2.5s  COPY . /app",
		"⠴ step 4/6   backend   2.5s  RUN make",
	})
	if _, err := live.Around(term).Write([]byte("a warning on stderr\n")); err != nil {
		t.Fatal(err)
	}
	clk.set(3000)
	write(evs[6])
	waitFor(t, term, []string{
		header,
		"a warning on stderr",
		"✓ built      frontend  reg/frontend:v1@" + digest + "  3.0s",
		"⠋ step 4/6   backend   3.0s  RUN make",
	})
	write(evs[7:]...)
	waitFor(t, term, []string{
		header,
		"a warning on stderr",
		"✓ built      frontend  reg/frontend:v1@" + digest + "  3.0s",
		"✓ built      backend   reg/backend:v1@" + digest + "  4.0s",
		"── summary ────────────────────────────────────────",
		"  built      frontend  reg/frontend:v1@" + digest + "  3.0s",
		"             backend   reg/backend:v1@" + digest + "  4.0s",
		"✓ hoist build SUCCEEDED in 4.0s",
	})
	// After the end, nothing more is drawn.
	term.mu.Lock()
	writes := term.writes
	term.mu.Unlock()
	clk.set(9000)
	time.Sleep(30 * time.Millisecond)
	term.mu.Lock()
	defer term.mu.Unlock()
	if term.writes != writes {
		t.Errorf("%d frames drawn after the end", term.writes-writes)
	}
}

// TestLiveFitsTheTerminal cuts live lines to the terminal's width and
// shows no more of them than it has rows, so that redrawing them in place
// never scrolls.
func TestLiveFitsTheTerminal(t *testing.T) {
	term := newTerminal(40, 6)
	clk := &clock{}
	clk.set(1000)
	live := view.NewLive(term, view.LiveOptions{Interval: 5 * time.Millisecond, Now: clk.Now, Size: func() (int, int) { return 40, 6 }})
	defer func() { _ = live.Close() }()
	images := []string{"a", "b", "c", "d", "e", "f"}
	events := []at{{0, meta("build", images...)}}
	for _, img := range images {
		events = append(events, at{0, build(img, pb.Status_IN_PROGRESS)},
			at{0, stepLog(img, 1, 2, "RUN a command far too long to fit on the terminal's forty columns")})
	}
	for _, e := range envelopes(events) {
		if err := live.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, term, []string{
		"hoist build · hoist version dev · run id",
		" run-1",
		"⠋ step 1/2   a  1.0s  RUN a command fa…",
		"⠋ step 1/2   b  1.0s  RUN a command fa…",
		"⠋ step 1/2   c  1.0s  RUN a command fa…",
		"3 more lines in progress",
	})
}

// TestLiveFrameRate feeds a live view events as fast as it takes them:
// however many, it draws at most one frame per interval.
func TestLiveFrameRate(t *testing.T) {
	term := newTerminal(100, 20)
	const interval = 20 * time.Millisecond
	live := view.NewLive(term, view.LiveOptions{Interval: interval, Size: func() (int, int) { return 100, 20 }})
	start := time.Now()
	evs := envelopes([]at{{0, meta("build", "app")}, {0, build("app", pb.Status_IN_PROGRESS)}})
	for _, e := range evs {
		if err := live.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	// Each line differs from the last: every frame has something new to
	// show.
	lines := make([]at, 1000)
	for i := range lines {
		lines[i] = at{0, buildLog("app", fmt.Sprintf("compiling unit %d", i))}
	}
	batch := envelopes(lines)
	n := 0
	for time.Since(start) < 300*time.Millisecond {
		for _, e := range batch {
			if err := live.Write(e); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := live.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	term.mu.Lock()
	defer term.mu.Unlock()
	if most := int(took/interval) + 2; term.writes > most || term.writes < 2 {
		t.Errorf("%d events in %s drew %d frames, want between 2 and %d", n, took, term.writes, most)
	}
	t.Logf("%d events in %s: %d frames", n, took, term.writes)
}

// TestLiveWithoutColor writes no color or style at all without Color, and
// with it colors statuses.
func TestLiveWithoutColor(t *testing.T) {
	sgr := regexp.MustCompile(`\x1b\[[0-9;]*m`)
	for _, color := range []bool{false, true} {
		term := newTerminal(100, 20)
		live := view.NewLive(term, view.LiveOptions{Options: view.Options{Color: color}, Interval: time.Millisecond, Size: func() (int, int) { return 100, 20 }})
		for _, e := range envelopes([]at{
			{0, meta("build", "app")}, {0, build("app", pb.Status_IN_PROGRESS)}, {0, stepLog("app", 1, 1, "FROM x")},
		}) {
			if err := live.Write(e); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(20 * time.Millisecond)
		for _, e := range envelopes([]at{{100, built("app", "reg/app:v1", digest)}, {100, end(pb.Status_SUCCEEDED, nil)}}) {
			if err := live.Write(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := live.Flush(); err != nil {
			t.Fatal(err)
		}
		term.mu.Lock()
		raw := term.raw.String()
		term.mu.Unlock()
		if got := sgr.MatchString(raw); got != color {
			t.Errorf("Color %v: escape codes of colors and styles written: %v\n%q", color, got, raw)
		}
		if color && !strings.Contains(raw, "\x1b[32m✓") {
			t.Errorf("Color: the success mark is not green:\n%q", raw)
		}
	}
}
