package rpc

import (
	"bytes"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/testutil"
)

// TestPreencodedCodecs checks that both codecs write an event of the bus
// as the message connect's own codecs write for its envelope, from the
// bytes the bus shares, and any other message as connect's codecs do.
func TestPreencodedCodecs(t *testing.T) {
	bus := testutil.NewBus(t)
	env := bus.Publish(testutil.LogEvent("app", "Step 1/2 : FROM busybox ✓"))
	bus.End()
	var e *event.Encoded
	if err := bus.FollowEncoded(t.Context(), 0, func(got *event.Encoded, _ bool) error { e = got; return nil }); err != nil {
		t.Fatal(err)
	}
	type codecType interface {
		connect.Codec
		MarshalAppend([]byte, any) ([]byte, error)
		IsBinary() bool
	}
	for _, codec := range []codecType{protoCodec{}, jsonCodec{name: "json"}} {
		unmarshal := proto.Unmarshal
		if !codec.IsBinary() {
			unmarshal = protojson.Unmarshal
		}
		tests := []struct {
			name   string
			msg    any
			want   proto.Message
			shared bool
		}{
			{"event of the bus", e, env, true},
			{"other message", &pb.EventsRequest{AfterSequence: 7}, &pb.EventsRequest{AfterSequence: 7}, false},
		}
		for _, tt := range tests {
			t.Run(codec.Name()+"/"+tt.name, func(t *testing.T) {
				json0, proto0 := bus.Encodes()
				got, err := codec.Marshal(tt.msg)
				if err != nil {
					t.Fatal(err)
				}
				back := tt.want.ProtoReflect().New().Interface()
				if err := unmarshal(got, back); err != nil {
					t.Fatalf("%s does not decode: %v", got, err)
				}
				if diff := cmp.Diff(tt.want, back, protocmp.Transform()); diff != "" {
					t.Errorf("round trip (-want +got):\n%s", diff)
				}
				if codec.IsBinary() {
					if want, _ := proto.Marshal(tt.want); !bytes.Equal(got, want) {
						t.Errorf("Marshal = %x, want proto.Marshal's %x", got, want)
					}
				}
				appended, err := codec.MarshalAppend([]byte("prefix"), tt.msg)
				if err != nil || !bytes.Equal(appended, append([]byte("prefix"), got...)) {
					t.Errorf("MarshalAppend = %q, %v", appended, err)
				}
				// What the codec hands out is a copy: changing it leaves
				// the bus's bytes alone.
				clear(got)
				if tt.shared {
					j, _ := e.JSON()
					p, _ := e.Proto()
					wantJ, _ := event.MarshalJSON(env)
					wantP, _ := proto.Marshal(env)
					if !bytes.Equal(j, wantJ) || !bytes.Equal(p, wantP) {
						t.Error("the bus's shared bytes were changed through the codec")
					}
				}
				if json, protos := bus.Encodes(); json > max(json0, 1) || protos > max(proto0, 1) {
					t.Errorf("the codec encoded a shared event again: %d JSON, %d protobuf encodes", json, protos)
				}
			})
		}
		if _, err := codec.Marshal("not a message"); err == nil {
			t.Errorf("%s: Marshal of a string: no error", codec.Name())
		}
	}
}

// TestPreencodedCodecsClients checks that clients with connect's own
// codecs, as grpcurl and generated clients of other languages have, read
// what the EventService sends with the preencoded ones, over gRPC and
// Connect's binary and JSON protocols.
func TestPreencodedCodecsClients(t *testing.T) {
	bus := testutil.NewBus(t)
	var want []*pb.Envelope
	for i := range 5 {
		want = append(want, bus.Publish(testutil.LogEvent("app", string(rune('a'+i)))))
	}
	want = append(want, bus.Publish(&pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_SUCCEEDED}}}))
	bus.End()
	url := testutil.Serve(t, NewHTTPServer((&Server{Bus: bus, State: state.New()}).Handler()))
	for _, tc := range []struct {
		name string
		opts []connect.ClientOption
	}{
		{"grpc", []connect.ClientOption{connect.WithGRPC()}},
		{"connect", nil},
		{"connect+json", []connect.ClientOption{connect.WithProtoJSON()}},
		{"grpc-web+json", []connect.ClientOption{connect.WithGRPCWeb(), connect.WithProtoJSON()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hc, err := NewHTTPClient(ClientOptions{Address: url})
			if err != nil {
				t.Fatal(err)
			}
			client := hoistv1alpha2connect.NewEventServiceClient(hc, url, tc.opts...)
			stream, err := client.Events(t.Context(), connect.NewRequest(&pb.EventsRequest{}))
			if err != nil {
				t.Fatal(err)
			}
			var got []*pb.Envelope
			for stream.Receive() {
				got = append(got, stream.Msg())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			state, err := client.GetState(t.Context(), connect.NewRequest(&pb.GetStateRequest{}))
			if err != nil || state.Msg == nil {
				t.Errorf("GetState = %v, %v", state, err)
			}
		})
	}
}
