package collector_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/collector"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/rpc"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestEventsFlushesInBatches streams a stored run over the Connect
// protocol to a client that accepts gzip and checks that every event
// arrives uncompressed, as the events are small, while the response is
// flushed a few times, not once an event.
func TestEventsFlushesInBatches(t *testing.T) {
	const total = 5000
	url := filepath.Join(t.TempDir(), "c.db")
	id := storeBigRun(t, url, total)
	st, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	})
	got := testutil.CallConnectStream(t, collector.New(st, collector.Options{}).Handler(),
		"/"+hoistv1alpha2connect.EventServiceName+"/Events",
		fmt.Appendf(nil, `{"runId":%q,"historyOnly":true}`, id), http.Header{"Connect-Accept-Encoding": {"gzip"}})
	events, compressed, end := got.Messages, got.Compressed, got.End
	if events != total || !end {
		t.Fatalf("got %d events, end of stream %v; want %d and the end", events, end, total)
	}
	if compressed != 0 {
		t.Errorf("%d of %d small events compressed", compressed, total)
	}
	// One flush for the headers, one at the end, and one every few
	// milliseconds while the store's pages are read.
	if got.Flushes > total/10 {
		t.Errorf("%d flushes for %d events", got.Flushes, total)
	}
	t.Logf("%d flushes for %d events", got.Flushes, total)
}

// TestEventsFlushesAHeldEvent checks that an event sent while more were at
// hand reaches the subscriber even though none of those more follow it:
// here a filter drops every later event of a run still going on.
func TestEventsFlushesAHeldEvent(t *testing.T) {
	url := filepath.Join(t.TempDir(), "c.db")
	st, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	const id = "held"
	var recs []store.Record
	for seq := uint32(1); seq <= 2000; seq++ {
		be := &pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS, Log: fmt.Sprintf("line %d of the build output", seq)}
		if seq == 1 {
			be = &pb.BuildEvent{Image: "app", Status: pb.Status_FAILED}
		}
		env := &pb.Envelope{ApiVersion: "skaffold.dev/v1alpha2", Kind: "Event", EventId: id,
			Event: &pb.Event{Sequence: seq, Payload: &pb.Event_BuildEvent{BuildEvent: be}}}
		js, err := event.MarshalJSON(env)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, store.Record{Env: env, JSON: js})
	}
	if _, err := st.Append(t.Context(), recs); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + serve(t, url, collector.Options{})
	hc, err := rpc.NewHTTPClient(rpc.ClientOptions{Address: base})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	stream, err := hoistv1alpha2connect.NewEventServiceClient(hc, base, connect.WithGRPC()).Events(ctx, connect.NewRequest(&pb.EventsRequest{
		RunId: id, Filter: &pb.EventFilter{Statuses: []pb.Status{pb.Status_FAILED}}}))
	if err != nil {
		t.Fatal(err)
	}
	if !stream.Receive() {
		t.Fatalf("the failed build never arrived: %v", stream.Err())
	}
	if seq := stream.Msg().Event.Sequence; seq != 1 {
		t.Fatalf("got sequence %d, want 1", seq)
	}
}
