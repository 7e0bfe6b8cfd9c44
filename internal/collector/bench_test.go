package collector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/collector"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// BenchmarkIngest measures sustained ingest: b.N build log events, split
// over 1 or 20 concurrent runs, each pushed by hoist's own pusher, until
// the collector has acknowledged every one as durable (committed, and on
// SQLite synced to disk).
func BenchmarkIngest(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, runs := range []int{1, 20} {
			b.Run(fmt.Sprintf("%s/runs=%d", backend, runs), func(b *testing.B) {
				url := filepath.Join(b.TempDir(), "c.db")
				if backend == "postgres" {
					url = testutil.PostgresDB(b)
				}
				addr := serve(b, url, collector.Options{})
				per := max(b.N/runs, 1)
				buses := make([]*event.Bus, runs)
				for i := range buses {
					bus := testutil.NewBus(b)
					bus.Publish(&pb.Event{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "build", Artifacts: []string{"app"}}}})
					for j := range per {
						bus.Publish(&pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS,
							Log: "#12 0.734 compiling module " + strconv.Itoa(j) + " of the application with optimisations on"}}})
					}
					bus.End()
					buses[i] = bus
				}
				ctx, cancel := context.WithCancel(b.Context())
				defer cancel()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for _, bus := range buses {
					p, err := rpc.NewPusher(bus, rpc.ClientOptions{Address: addr}, slog.New(slog.DiscardHandler))
					if err != nil {
						b.Fatal(err)
					}
					go p.Run(ctx)
					wg.Go(func() {
						if left := p.Flush(ctx, 10*time.Minute); left != 0 {
							b.Errorf("%d events not acknowledged", left)
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(runs*(per+1))/elapsed.Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkDashboardFirstRender opens the page of a stored run of 100k
// build log lines in headless Chromium and reports how long until the
// build's log is on screen (first-render-ms) and until every event is
// folded into the page (all-events-ms).
func BenchmarkDashboardFirstRender(b *testing.B) {
	const events = 100_000
	ctx := testutil.Browser(b)
	url := filepath.Join(b.TempDir(), "c.db")
	id := storeBigRun(b, url, events)
	addr := serve(b, url, collector.Options{})
	page := "http://" + addr + "/runs/" + id
	var first, all float64
	b.ResetTimer()
	for range b.N {
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(page)); err != nil {
			b.Fatal(err)
		}
		// The page records, in ms since navigation, when it first showed
		// log lines and when it had folded every event.
		var t struct{ FirstLog, AllEvents float64 }
		for t.AllEvents == 0 {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`window.hoistTimings`))
			if err != nil {
				b.Fatal(err)
			}
			t.FirstLog, t.AllEvents = v["firstLog"], v["allEvents"]
			time.Sleep(10 * time.Millisecond)
		}
		count, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('event-count').textContent`))
		if err != nil || count != strconv.Itoa(events) {
			b.Fatalf("the page counted %s events (%v), want %d", count, err, events)
		}
		first += t.FirstLog
		all += t.AllEvents
	}
	b.ReportMetric(first/float64(b.N), "first-render-ms")
	b.ReportMetric(all/float64(b.N), "all-events-ms")
}

// BenchmarkDashboardTimeline opens the page of a stored run of 100k
// events (a build of ten steps) in headless Chromium and reports how long
// the collector takes to answer the run's timeline (timeline-server-ms,
// a GET of /v1alpha2/runs/{id}/timeline) and how long after navigation
// the timeline is drawn with every span (timeline-render-ms), while the
// page also streams the run's 100k events for its build log.
func BenchmarkDashboardTimeline(b *testing.B) {
	const events = 100_000
	ctx := testutil.Browser(b)
	url := filepath.Join(b.TempDir(), "c.db")
	id := storeBigRun(b, url, events)
	addr := serve(b, url, collector.Options{})
	page := "http://" + addr + "/runs/" + id
	var server, render float64
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		resp, err := http.Get(page[:len("http://")+len(addr)] + "/v1alpha2/runs/" + id + "/timeline")
		if err != nil {
			b.Fatal(err)
		}
		var tl struct{ Spans []json.RawMessage }
		err = json.NewDecoder(resp.Body).Decode(&tl)
		server += float64(time.Since(start).Microseconds()) / 1000
		if cerr := resp.Body.Close(); err != nil || cerr != nil || len(tl.Spans) != 11 {
			b.Fatalf("the timeline: %d spans (%v, %v), want the build and its 10 steps", len(tl.Spans), err, cerr)
		}
		if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(page)); err != nil {
			b.Fatal(err)
		}
		var drawn float64
		for drawn == 0 {
			v, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`window.hoistTimings`))
			if err != nil {
				b.Fatal(err)
			}
			drawn = v["timeline"]
			time.Sleep(10 * time.Millisecond)
		}
		bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#timeline .span').length`))
		if err != nil || bars != 11 {
			b.Fatalf("the timeline has %d bars (%v), want 11", bars, err)
		}
		render += drawn
	}
	b.ReportMetric(server/float64(b.N), "timeline-server-ms")
	b.ReportMetric(render/float64(b.N), "timeline-render-ms")
}

// storeBigRun stores a run of n events, almost all build log lines in ten
// steps, ending FAILED, and returns its id.
func storeBigRun(tb testing.TB, url string, events int) string {
	tb.Helper()
	st, err := store.Open(tb.Context(), url)
	if err != nil {
		tb.Fatal(err)
	}
	id := "bench-100k"
	var recs []store.Record
	flush := func() {
		if _, err := st.Append(tb.Context(), recs); err != nil {
			tb.Fatal(err)
		}
		recs = recs[:0]
	}
	t0 := time.Now().Add(-time.Hour)
	for seq := 1; seq <= events; seq++ {
		ev := &pb.Event{Sequence: uint32(seq), Timestamp: timestamppb.New(t0.Add(time.Duration(seq) * time.Millisecond))}
		switch {
		case seq == 1:
			ev.Payload = &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "build", Artifacts: []string{"app"}}}
		case seq == events:
			ev.Payload = &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_FAILED,
				Error: &pb.Error{Code: "BUILD_RUN_FAILED", Message: "step 10/10 failed", Suggestions: []string{"read the step's output"}}}}
		default:
			be := &pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS, Log: fmt.Sprintf("#%d 0.%03d compiling module %d", seq/10000, seq%1000, seq)}
			if seq%10000 == 2 {
				be.Step = &pb.Step{Index: uint32(seq/10000 + 1), Total: 10, Instruction: "RUN make module-" + strconv.Itoa(seq/10000)}
				be.Log = fmt.Sprintf("Step %d/10 : %s", be.Step.Index, be.Step.Instruction)
			}
			ev.Payload = &pb.Event_BuildEvent{BuildEvent: be}
		}
		env := &pb.Envelope{ApiVersion: "skaffold.dev/v1alpha2", Kind: "Event", EventId: id, Event: ev}
		js, err := event.MarshalJSON(env)
		if err != nil {
			tb.Fatal(err)
		}
		recs = append(recs, store.Record{Env: env, JSON: js})
		if len(recs) == 5000 {
			flush()
		}
	}
	flush()
	if err := st.Close(); err != nil {
		tb.Fatalf("closing the store: %v", err)
	}
	return id
}

// BenchmarkEvents measures the EventService's Events over gRPC reading a
// stored run of 20k events, mostly build log lines of a hundred bytes or
// so, to its end. It reports events/s.
func BenchmarkEvents(b *testing.B) {
	const events = 20_000
	url := filepath.Join(b.TempDir(), "c.db")
	id := storeBigRun(b, url, events)
	base := "http://" + serve(b, url, collector.Options{})
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: base})
	if err != nil {
		b.Fatal(err)
	}
	client := hoistv1alpha2connect.NewEventServiceClient(hc, base, connect.WithGRPC())
	b.ResetTimer()
	for range b.N {
		stream, err := client.Events(b.Context(), connect.NewRequest(&pb.EventsRequest{RunId: id, HistoryOnly: true}))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for stream.Receive() {
			n++
		}
		if err := stream.Err(); err != nil || n != events {
			b.Fatalf("read %d events (%v), want %d", n, err, events)
		}
	}
	b.ReportMetric(float64(b.N*events)/b.Elapsed().Seconds(), "events/s")
}
