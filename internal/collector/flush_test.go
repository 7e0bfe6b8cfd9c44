package collector_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
)

// flushCounter is a ResponseWriter that counts the flushes that reach it.
type flushCounter struct {
	header  http.Header
	body    bytes.Buffer
	flushes int
}

func (w *flushCounter) Header() http.Header         { return w.header }
func (w *flushCounter) Write(p []byte) (int, error) { return w.body.Write(p) }
func (w *flushCounter) WriteHeader(int)             {}
func (w *flushCounter) Flush()                      { w.flushes++ }

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
	// A Connect streaming request: one enveloped JSON message.
	msg := fmt.Appendf(nil, `{"runId":%q,"historyOnly":true}`, id)
	body := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost,
		"/"+hoistv1alpha2connect.EventServiceName+"/Events", bytes.NewReader(append(body, msg...)))
	req.Header.Set("Content-Type", "application/connect+json")
	req.Header.Set("Connect-Accept-Encoding", "gzip")
	w := &flushCounter{header: http.Header{}}
	collector.New(st, collector.Options{}).Handler().ServeHTTP(w, req)
	events, compressed, end := 0, 0, false
	for r := bytes.NewReader(w.body.Bytes()); r.Len() > 0; {
		var prefix [5]byte
		if _, err := io.ReadFull(r, prefix[:]); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Seek(int64(binary.BigEndian.Uint32(prefix[1:])), io.SeekCurrent); err != nil {
			t.Fatal(err)
		}
		switch {
		case prefix[0]&2 != 0:
			end = true
		case prefix[0]&1 != 0:
			compressed++
			events++
		default:
			events++
		}
	}
	if events != total || !end {
		t.Fatalf("got %d events, end of stream %v; want %d and the end", events, end, total)
	}
	if compressed != 0 {
		t.Errorf("%d of %d small events compressed", compressed, total)
	}
	// One flush for the headers, one at the end, and one every few
	// milliseconds while the store's pages are read.
	if w.flushes > total/10 {
		t.Errorf("%d flushes for %d events", w.flushes, total)
	}
	t.Logf("%d flushes for %d events", w.flushes, total)
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
