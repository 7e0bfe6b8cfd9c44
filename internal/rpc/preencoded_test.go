package rpc

import (
	"bytes"
	"net/http"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/api/hoist/v1alpha2/hoistv1alpha2connect"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/testutil"
)

func TestPreencodedCodec(t *testing.T) {
	bus := testutil.NewBus(t)
	env := bus.Publish(testutil.LogEvent("app", "Step 1/2 : FROM busybox ✓"))
	foreign, ok := proto.Clone(env).(*pb.Envelope)
	if !ok {
		t.Fatal("clone is not an envelope")
	}
	c := preencoded{bus: bus}
	tests := []struct {
		name   string
		msg    proto.Message
		shared bool
	}{
		{"envelope of the bus", env, true},
		{"push request of the bus", &pb.PushRequest{Envelope: env}, true},
		{"envelope not of the bus", foreign, false},
		{"push request not of the bus", &pb.PushRequest{Envelope: foreign}, false},
		{"other message", &pb.EventsRequest{AfterSequence: 7}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := bus.Encodes()
			_, protoBefore := bus.Encodes()
			want, err := proto.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Marshal(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Marshal = %x, want proto.Marshal's %x", got, want)
			}
			dst := []byte("prefix")
			appended, err := c.MarshalAppend(dst, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(appended, append([]byte("prefix"), want...)) {
				t.Errorf("MarshalAppend = %x", appended)
			}
			// What the codec hands out is a copy: changing it leaves the
			// bus's bytes alone.
			for i := range got {
				got[i] = 0
			}
			shared, err := bus.Proto(env)
			if err != nil {
				t.Fatal(err)
			}
			if wantEnv, _ := proto.Marshal(env); !bytes.Equal(shared, wantEnv) {
				t.Error("the bus's shared bytes were changed through the codec")
			}
			back := tt.msg.ProtoReflect().New().Interface()
			if err := c.Unmarshal(appended[len("prefix"):], back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.msg, back, protocmp.Transform()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if json, protos := bus.Encodes(); tt.shared && (json != before || protos > max(protoBefore, 1)) {
				t.Errorf("the codec encoded a shared envelope again: %d protobuf encodes", protos)
			}
		})
	}
	if _, err := c.Marshal("not a message"); err == nil {
		t.Error("Marshal of a string: no error")
	}
}

// TestPreencodedCodecClients checks that clients with connect's own codec,
// as grpcurl and generated clients of other languages have, read what a
// handler with the codec sends, over gRPC and Connect's binary protocol.
func TestPreencodedCodecClients(t *testing.T) {
	bus := testutil.NewBus(t)
	var want []*pb.Envelope
	for i := range 5 {
		want = append(want, bus.Publish(testutil.LogEvent("app", string(rune('a'+i)))))
	}
	want = append(want, bus.Publish(&pb.Event{Payload: &pb.Event_TerminationEvent{TerminationEvent: &pb.TerminationEvent{Status: pb.Status_SUCCEEDED}}}))
	bus.End()
	mux := http.NewServeMux()
	mux.Handle(hoistv1alpha2connect.NewEventServiceHandler(&Server{Bus: bus, State: state.New()}, PreencodedCodec(bus)))
	url := testutil.Serve(t, NewHTTPServer(mux))
	for _, tc := range []struct {
		name string
		opts []connect.ClientOption
	}{
		{"grpc", []connect.ClientOption{connect.WithGRPC()}},
		{"connect", nil},
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
		})
	}
}
