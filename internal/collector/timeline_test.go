package collector_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector"
	"github.com/hoist-dev/hoist/internal/collector/timeline"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

type timelinePage struct {
	Run struct {
		EventID string `json:"eventId"`
		Status  string `json:"status"`
	} `json:"run"`
	Spans        []timeline.Span `json:"spans"`
	LastSequence uint32          `json:"lastSequence"`
}

// TestTimelineOverHTTP follows a live run's timeline: the first line has
// the spans so far, each later one the spans changed since, and the
// stream ends with the run. The same spans come whole from a GET.
func TestTimelineOverHTTP(t *testing.T) {
	testutil.Backends(t, func(t *testing.T, url string) {
		addr := serve(t, url, collector.Options{Token: "tok"})
		bus := testutil.NewBus(t)
		p, err := rpc.NewPusher(bus, rpc.ClientOptions{Address: addr, Token: "tok"}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go p.Run(ctx)
		flush := func() {
			t.Helper()
			if left := p.Flush(ctx, 30*time.Second); left != 0 {
				t.Fatalf("%d events not acknowledged: %v", left, p.LastError())
			}
		}
		build := func(st pb.Status, step *pb.Step) *pb.Event {
			return &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: st, Step: step, Log: map[bool]string{true: "Step"}[step != nil]}}}
		}
		var envs []*pb.Envelope
		for _, ev := range []*pb.Event{
			{Payload: &pb.Event_MetaEvent{MetaEvent: &pb.MetaEvent{Command: "build", Artifacts: []string{"app"}}}},
			build(pb.Status_IN_PROGRESS, nil),
			build(pb.Status_IN_PROGRESS, &pb.Step{Index: 1, Total: 2, Instruction: "FROM busybox"}),
		} {
			envs = append(envs, bus.Publish(ev))
		}
		flush()
		base := "http://" + addr + "/v1alpha2/runs/" + bus.RunID() + "/timeline"
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"?watch=true", nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }() // read to its end below, or the test failed
		lines := bufio.NewScanner(resp.Body)
		next := func() timelinePage {
			t.Helper()
			if !lines.Scan() {
				t.Fatalf("the watch ended: %v", lines.Err())
			}
			var p timelinePage
			if err := json.Unmarshal(lines.Bytes(), &p); err != nil {
				t.Fatalf("%s: %v", lines.Bytes(), err)
			}
			return p
		}
		at := func(seq int) time.Time { return envs[seq-1].Event.Timestamp.AsTime().Truncate(time.Microsecond) }
		first := next()
		want := []timeline.Span{
			{ID: 1, Kind: timeline.Build, Name: "app", Start: at(2), Status: pb.Status_IN_PROGRESS, From: 2, To: 2},
			{ID: 2, Parent: 1, Kind: timeline.Step, Name: "app", Detail: "1/2 FROM busybox", Start: at(3), Status: pb.Status_IN_PROGRESS, From: 3, To: 3},
		}
		if diff := cmp.Diff(want, first.Spans); diff != "" || first.LastSequence != 3 || first.Run.Status != "IN_PROGRESS" {
			t.Fatalf("the first line: run %+v after %d, spans (-want +got):\n%s", first.Run, first.LastSequence, diff)
		}
		for _, ev := range []*pb.Event{
			build(pb.Status_IN_PROGRESS, &pb.Step{Index: 2, Total: 2, Instruction: "RUN make"}),
			build(pb.Status_SUCCEEDED, nil),
			{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_SUCCEEDED}}},
		} {
			envs = append(envs, bus.Publish(ev))
		}
		bus.End()
		flush()
		final := []timeline.Span{
			{ID: 1, Kind: timeline.Build, Name: "app", Start: at(2), End: at(5), Status: pb.Status_SUCCEEDED, From: 2, To: 5},
			{ID: 2, Parent: 1, Kind: timeline.Step, Name: "app", Detail: "1/2 FROM busybox", Start: at(3), End: at(4), Status: pb.Status_SUCCEEDED, From: 3, To: 4},
			{ID: 3, Parent: 1, Kind: timeline.Step, Name: "app", Detail: "2/2 RUN make", Start: at(4), End: at(5), Status: pb.Status_SUCCEEDED, From: 4, To: 5},
		}
		// The rest comes in one line or several: the spans changed after
		// the first line's sequence, each as it ended up.
		got := map[int]timeline.Span{}
		last := first
		for last.Run.Status == "IN_PROGRESS" {
			last = next()
			for _, s := range last.Spans {
				got[s.ID] = s
			}
		}
		if diff := cmp.Diff(final, []timeline.Span{got[1], got[2], got[3]}); diff != "" || last.LastSequence != 6 || last.Run.Status != "SUCCEEDED" {
			t.Errorf("the lines after the first: run %+v after %d, spans (-want +got):\n%s", last.Run, last.LastSequence, diff)
		}
		if lines.Scan() {
			t.Errorf("the watch went on after the run ended: %s", lines.Bytes())
		}
		var whole timelinePage
		getJSON(t, base, &whole)
		if diff := cmp.Diff(final, whole.Spans); diff != "" {
			t.Errorf("GET: spans (-want +got):\n%s", diff)
		}
		if status := getStatus(t, "http://"+addr+"/v1alpha2/runs/nope/timeline?watch=true"); status != http.StatusNotFound {
			t.Errorf("the timeline of an unknown run: %d, want 404", status)
		}
		var tr struct {
			Series []struct {
				Kind   string
				Name   string
				Points []struct {
					Run        string
					DurationMs float64
					Status     string
				}
			}
		}
		getJSON(t, "http://"+addr+"/v1alpha2/trends?command=build&points=5", &tr)
		if len(tr.Series) != 1 || tr.Series[0].Kind != "build" || len(tr.Series[0].Points) != 1 || tr.Series[0].Points[0].Run != bus.RunID() ||
			tr.Series[0].Points[0].Status != "SUCCEEDED" || tr.Series[0].Points[0].DurationMs != float64(at(5).Sub(at(2)).Microseconds())/1000 {
			t.Errorf("trends: %+v", tr)
		}
		if status := getStatus(t, "http://"+addr+"/v1alpha2/trends?points=0"); status != http.StatusBadRequest {
			t.Errorf("trends of 0 points: %d, want 400", status)
		}
	})
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }() // read whole below
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s (%v)", url, resp.Status, body, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close() // only the status matters
	return resp.StatusCode
}
