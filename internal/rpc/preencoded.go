package rpc

import (
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

// preencoded is connect's "proto" codec, for gRPC and Connect's binary
// protocol, that sends an envelope the bus holds (alone, or in a
// PushRequest) as the protobuf bytes the bus already made for it, shared
// with the spill file and every other subscriber, instead of marshaling it
// again. Any other message is marshaled as connect's own codec does; the
// bytes are the same either way.
//
// Connect's JSON protocol keeps connect's "json" codec: protojson's
// output differs from the bus's JSON line in its whitespace.
type preencoded struct {
	bus *event.Bus
}

// PreencodedCodec returns the codec, as an option for a handler or a
// client.
func PreencodedCodec(bus *event.Bus) connect.Option {
	return connect.WithCodec(preencoded{bus: bus})
}

var _ interface {
	connect.Codec
	MarshalAppend([]byte, any) ([]byte, error)
	MarshalStable(any) ([]byte, error)
	IsBinary() bool
} = preencoded{}

func (preencoded) Name() string { return "proto" }

func (c preencoded) Marshal(msg any) ([]byte, error) {
	return c.MarshalAppend(nil, msg)
}

// MarshalAppend appends msg's protobuf form to dst. connect-go uses it
// with a pooled buffer, so the shared bytes are copied, never handed out.
func (c preencoded) MarshalAppend(dst []byte, msg any) ([]byte, error) {
	switch m := msg.(type) {
	case *pb.Envelope:
		if e := c.bus.Encoded(m); e != nil {
			data, err := e.Proto()
			return append(dst, data...), err
		}
	case *pb.PushRequest:
		// A PushRequest holds its envelope alone, as field 1.
		if e := c.bus.Encoded(m.GetEnvelope()); e != nil && len(m.ProtoReflect().GetUnknown()) == 0 {
			data, err := e.Proto()
			if err != nil {
				return dst, err
			}
			dst = protowire.AppendTag(dst, 1, protowire.BytesType)
			return protowire.AppendBytes(dst, data), nil
		}
	}
	pm, ok := msg.(proto.Message)
	if !ok {
		return dst, fmt.Errorf("%T is not a protobuf message", msg)
	}
	return proto.MarshalOptions{}.MarshalAppend(dst, pm)
}

func (preencoded) Unmarshal(data []byte, msg any) error {
	pm, ok := msg.(proto.Message)
	if !ok {
		return fmt.Errorf("%T is not a protobuf message", msg)
	}
	if err := proto.Unmarshal(data, pm); err != nil {
		return fmt.Errorf("unmarshal into %T: %w", msg, err)
	}
	return nil
}

// MarshalStable is for connect's GET requests, as its own codec's.
func (preencoded) MarshalStable(msg any) ([]byte, error) {
	pm, ok := msg.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("%T is not a protobuf message", msg)
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(pm)
}

func (preencoded) IsBinary() bool { return true }
