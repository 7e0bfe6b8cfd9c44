package event_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

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
				j, p, err := encodings(e)
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

// TestEncodedFromDisk checks that events read back from the spill file
// in the one form their readers want (Wants) give the other form and the
// envelope on demand, equal to what the bus published, and that such
// readers decode nothing they do not ask for.
func TestEncodedFromDisk(t *testing.T) {
	for _, spilled := range []event.Form{event.FormJSON, event.FormProto} {
		t.Run(formName(spilled), func(t *testing.T) {
			const n = 3000
			bus := testutil.NewBus(t, event.WithMemory(512))
			want := make([]*pb.Envelope, 0, n+1)
			// A reader that wants this form alone decides what the
			// events nobody has read are spilled in.
			sub := bus.Subscribe(0, event.Wants(spilled))
			for i := range n {
				want = append(want, bus.Publish(testutil.LogEvent("app", string(rune('a'+i%26)))))
			}
			want = append(want, bus.Publish(&pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_SUCCEEDED}}}))
			bus.End()
			defer sub.Close()
			json0, proto0 := bus.Encodes()
			if json0 != 0 && proto0 != 0 {
				t.Fatalf("spilling %d events made %d JSON and %d protobuf encodings; want one form only", n, json0, proto0)
			}
			var got []*pb.Envelope
			err := bus.FollowEncoded(t.Context(), 0, func(e *event.Encoded, _ bool) error {
				w := want[e.Seq()-1]
				if e.Terminal() != (w.Event.GetTerminationEvent() != nil) || e.Level() != event.LevelOf(w.Event) {
					t.Errorf("event %d: Terminal %v, Level %v; want those of %v", e.Seq(), e.Terminal(), e.Level(), w)
				}
				j, p, err := encodings(e)
				if err != nil {
					return err
				}
				wantJSON, _ := event.MarshalJSON(w)
				wantProto, _ := proto.Marshal(w)
				if !bytes.Equal(j, wantJSON) || !bytes.Equal(p, wantProto) {
					t.Errorf("event %d: JSON %s and protobuf differ from what was published", e.Seq(), j)
				}
				got = append(got, e.Env())
				return nil
			}, event.Wants(spilled))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("envelopes (-published +read):\n%s", diff)
			}
		})
	}
}

// encodings returns e's JSON and protobuf forms.
func encodings(e *event.Encoded) (json, pb []byte, err error) {
	if json, err = e.JSON(); err != nil {
		return nil, nil, err
	}
	pb, err = e.Proto()
	return json, pb, err
}

func formName(f event.Form) string {
	if f == event.FormJSON {
		return "json"
	}
	return "proto"
}
