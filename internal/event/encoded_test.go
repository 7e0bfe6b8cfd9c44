package event_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestEncodedOncePerEvent checks that readers share one JSON and one
// protobuf encoding of each event, equal to what AppendJSON and
// proto.Marshal give, including events read back from the spill file.
func TestEncodedOncePerEvent(t *testing.T) {
	const n, readers = 3000, 4
	bus := testutil.NewBus(t, event.WithMemory(512))
	for i := range n {
		bus.Publish(testutil.LogEvent("app", string(rune('a'+i%26))))
	}
	bus.End()
	got := make([][][]byte, readers)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			err := bus.FollowEncoded(t.Context(), 0, func(e *event.Encoded, _ bool) error {
				j, err := e.JSON()
				if err != nil {
					return err
				}
				p, err := e.Proto()
				if err != nil {
					return err
				}
				want, err := proto.Marshal(e.Env())
				if err != nil {
					return err
				}
				if !bytes.Equal(p, want) {
					t.Errorf("event %d: Proto differs from proto.Marshal", e.Env().Event.Sequence)
				}
				wantJSON, err := event.MarshalJSON(e.Env())
				if err != nil {
					return err
				}
				if !bytes.Equal(j, wantJSON) {
					t.Errorf("event %d: JSON = %s, want %s", e.Env().Event.Sequence, j, wantJSON)
				}
				got[r] = append(got[r], j)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for r := 1; r < readers; r++ {
		if diff := cmp.Diff(got[0], got[r]); diff != "" {
			t.Errorf("reader %d (-reader 0 +reader %d):\n%s", r, r, diff)
		}
	}
	// Events older than memory are read back from the spill file, each
	// once per reader, with the bytes they were spilled as; those in
	// memory are encoded once for all readers.
	json, protos := bus.Encodes()
	if json > readers*n || protos > n {
		t.Errorf("encodes: %d JSON, %d protobuf for %d events and %d readers; want at most %d and %d", json, protos, n, readers, readers*n, n)
	}
	if json < n {
		t.Errorf("encodes: %d JSON for %d events", json, n)
	}
}

func TestEncodedLookup(t *testing.T) {
	bus := testutil.NewBus(t)
	env := bus.Publish(testutil.LogEvent("app", "hello"))
	e := bus.Encoded(env)
	if e == nil || e.Env() != env {
		t.Fatalf("Encoded(published envelope) = %v", e)
	}
	p1, err := bus.Proto(env)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := e.Proto()
	if &p1[0] != &p2[0] {
		t.Error("Proto did not return the shared bytes")
	}
	j1, _ := bus.JSON(env)
	j2, _ := e.JSON()
	if &j1[0] != &j2[0] {
		t.Error("JSON did not return the shared bytes")
	}
	if json, protos := bus.Encodes(); json != 1 || protos != 1 {
		t.Errorf("Encodes() = %d, %d; want 1, 1", json, protos)
	}

	// An equal envelope that is not the bus's own is encoded anew.
	other, ok := proto.Clone(env).(*pb.Envelope)
	if !ok {
		t.Fatal("clone is not an envelope")
	}
	if bus.Encoded(other) != nil {
		t.Error("Encoded found an envelope the bus does not hold")
	}
	p3, err := bus.Proto(other)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p3, p1) || &p3[0] == &p1[0] {
		t.Error("Proto of a copy: want equal bytes, not the shared ones")
	}
	if bus.Encoded(&pb.Envelope{}) != nil {
		t.Error("Encoded found an envelope without an event")
	}
}
