package event

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// TestAppendProto checks that appendProto gives exactly what proto.Marshal
// gives, for every payload and the edge cases of the fields it encodes
// itself.
func TestAppendProto(t *testing.T) {
	if payloadFields == nil {
		t.Fatal("the envelope's layout is not the one appendProto encodes; it falls back to proto.Marshal for every event")
	}
	envelope := func(ev *pb.Event) *pb.Envelope {
		return &pb.Envelope{ApiVersion: APIVersion, Kind: Kind, EventId: "0190d1f2-7c1a-7b3c-9d2e-3f4a5b6c7d8e", Event: ev}
	}
	build := func(log string) *pb.Event {
		return &pb.Event{
			Sequence:  7,
			Timestamp: &timestamppb.Timestamp{Seconds: 1_700_000_000, Nanos: 123_456_789},
			Payload:   &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Image: "app", Status: pb.Status_IN_PROGRESS, Log: log}},
		}
	}
	withUnknown := build("x")
	withUnknown.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 999, protowire.VarintType), 1))
	tests := []struct {
		name string
		env  *pb.Envelope
	}{
		{"build event", envelope(build("Step 1/5 : FROM busybox"))},
		{"long payload", envelope(build(strings.Repeat("a long build output line ", 400)))},
		{"no payload", envelope(&pb.Event{Sequence: 1, Timestamp: &timestamppb.Timestamp{Seconds: 1}})},
		{"nil payload message", envelope(&pb.Event{Sequence: 1, Payload: &pb.Event_BuildEvent{}})},
		{"zero sequence and timestamp", envelope(&pb.Event{Timestamp: &timestamppb.Timestamp{}, Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{}}})},
		{"no timestamp", envelope(&pb.Event{Sequence: 1 << 31})},
		{"negative timestamp", envelope(&pb.Event{Sequence: 3, Timestamp: &timestamppb.Timestamp{Seconds: -5, Nanos: -1}})},
		{"empty envelope fields", &pb.Envelope{Event: build("x")}},
		{"empty event", &pb.Envelope{Event: &pb.Event{}}},
		{"no event", &pb.Envelope{ApiVersion: APIVersion}},
		{"unknown fields in the event", envelope(withUnknown)},
	}
	fields := (&pb.Event{}).ProtoReflect().Descriptor().Oneofs().ByName("payload").Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		ev := &pb.Event{Sequence: 42, Timestamp: &timestamppb.Timestamp{Seconds: 1_700_000_000, Nanos: 1}}
		m := ev.ProtoReflect()
		m.Set(f, protoreflect.ValueOfMessage(m.NewField(f).Message()))
		tests = append(tests, struct {
			name string
			env  *pb.Envelope
		}{"empty " + string(f.Name()), envelope(ev)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := proto.Marshal(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("prefix")
			got, err := appendProto(prefix, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], want) {
				t.Errorf("appendProto = %x, want %x after the prefix", got, want)
			}
		})
	}
}

// TestAppendProtoInvalidUTF8 checks that an envelope proto.Marshal refuses
// is refused.
func TestAppendProtoInvalidUTF8(t *testing.T) {
	env := &pb.Envelope{EventId: "\xff", Event: &pb.Event{Sequence: 1}}
	if _, err := appendProto(nil, env); err == nil {
		t.Error("appendProto of an invalid UTF-8 run id: no error")
	}
	env = &pb.Envelope{Event: &pb.Event{Payload: &pb.Event_BuildEvent{BuildEvent: &pb.BuildEvent{Log: "\xff"}}}}
	if _, err := appendProto(nil, env); err == nil {
		t.Error("appendProto of an invalid UTF-8 log line: no error")
	}
}
