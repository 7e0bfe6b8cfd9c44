package ingest_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/ingest"
)

func TestValidate(t *testing.T) {
	event := func(seq uint32, p *pb.MetaEvent) *pb.Event {
		ev := &pb.Event{Sequence: seq, Timestamp: timestamppb.Now()}
		if p != nil {
			ev.Payload = &pb.Event_MetaEvent{MetaEvent: p}
		}
		return ev
	}
	meta := &pb.MetaEvent{Command: "build", Artifacts: []string{"app"}}
	for _, tc := range []struct {
		name string
		env  *pb.Envelope
		want string // in the error; "" for none
	}{
		{"valid", &pb.Envelope{EventId: "run-1.a_b", Event: event(1, meta)}, ""},
		{"no envelope", nil, "without an envelope"},
		{"empty run id", &pb.Envelope{Event: event(1, meta)}, "event_id"},
		{"run id with a slash", &pb.Envelope{EventId: "a/b", Event: event(1, meta)}, "event_id"},
		{"run id too long", &pb.Envelope{EventId: strings.Repeat("a", 65), Event: event(1, meta)}, "event_id"},
		{"no event", &pb.Envelope{EventId: "r"}, "without an event"},
		{"no sequence", &pb.Envelope{EventId: "r", Event: event(0, meta)}, "sequences start at 1"},
		{"no timestamp", &pb.Envelope{EventId: "r", Event: &pb.Event{Sequence: 1, Payload: &pb.Event_MetaEvent{MetaEvent: meta}}}, "timestamp"},
		{"no payload", &pb.Envelope{EventId: "r", Event: event(1, nil)}, "no payload; set one of metaEvent"},
		{"NUL in the command", &pb.Envelope{EventId: "r", Event: event(1, &pb.MetaEvent{Command: "a\x00"})}, "NUL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ingest.Validate(tc.env)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}
