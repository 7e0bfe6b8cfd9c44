package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/hoist-dev/hoist/internal/event"
)

// PreencodedCodecs returns connect's codecs for the protobuf binary form
// (gRPC and Connect's binary protocol) and the JSON form (Connect's JSON
// protocol), which send an event of the bus (*event.Encoded) as the bytes
// the bus already made for it, shared with the
// event log file, the spill file and every other subscriber, instead of
// encoding it again. Any other message is encoded as connect's own codecs
// do; clients see the same messages either way. It is for a handler: on a
// client, the last codec given is the one its requests use.
func PreencodedCodecs() connect.Option {
	return connect.WithOptions(
		connect.WithCodec(protoCodec{}),
		connect.WithCodec(jsonCodec{name: "json"}),
		connect.WithCodec(jsonCodec{name: "json; charset=utf-8"}),
	)
}

// protoCodec is connect's "proto" codec.
type protoCodec struct{}

var _ interface {
	connect.Codec
	MarshalAppend([]byte, any) ([]byte, error)
	MarshalStable(any) ([]byte, error)
	IsBinary() bool
} = protoCodec{}

func (protoCodec) Name() string { return "proto" }

func (c protoCodec) Marshal(msg any) ([]byte, error) {
	return c.MarshalAppend(nil, msg)
}

// MarshalAppend appends msg's protobuf form to dst. connect-go uses it
// with a pooled buffer, so the shared bytes are copied, never handed out.
func (protoCodec) MarshalAppend(dst []byte, msg any) ([]byte, error) {
	switch m := msg.(type) {
	case *event.Encoded:
		data, err := m.Proto()
		return append(dst, data...), err
	}
	pm, err := protoMessage(msg)
	if err != nil {
		return dst, err
	}
	return proto.MarshalOptions{}.MarshalAppend(dst, pm)
}

func (protoCodec) Unmarshal(data []byte, msg any) error {
	pm, err := protoMessage(msg)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(data, pm); err != nil {
		return fmt.Errorf("unmarshal into %T: %w", msg, err)
	}
	return nil
}

// MarshalStable is for connect's GET requests, as its own codec's.
func (protoCodec) MarshalStable(msg any) ([]byte, error) {
	pm, err := protoMessage(msg)
	if err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(pm)
}

func (protoCodec) IsBinary() bool { return true }

// jsonCodec is connect's JSON codec, under one of its two names. An event
// of the bus is its JSON line, the bytes that the event log file has:
// protojson's form, without protojson's random whitespace.
type jsonCodec struct {
	name string
}

var _ interface {
	connect.Codec
	MarshalAppend([]byte, any) ([]byte, error)
	MarshalStable(any) ([]byte, error)
	IsBinary() bool
} = jsonCodec{}

func (c jsonCodec) Name() string { return c.name }

func (c jsonCodec) Marshal(msg any) ([]byte, error) {
	return c.MarshalAppend(nil, msg)
}

func (jsonCodec) MarshalAppend(dst []byte, msg any) ([]byte, error) {
	switch m := msg.(type) {
	case *event.Encoded:
		data, err := m.JSON()
		return append(dst, data...), err
	}
	pm, err := protoMessage(msg)
	if err != nil {
		return dst, err
	}
	return protojson.MarshalOptions{}.MarshalAppend(dst, pm)
}

func (jsonCodec) Unmarshal(data []byte, msg any) error {
	pm, err := protoMessage(msg)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return errors.New("zero-length payload is not a valid JSON object")
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, pm); err != nil {
		return fmt.Errorf("unmarshal into %T: %w", msg, err)
	}
	return nil
}

// MarshalStable is for connect's GET requests: the JSON form compacted,
// as connect's own codec makes it.
func (c jsonCodec) MarshalStable(msg any) ([]byte, error) {
	data, err := c.Marshal(msg)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, data); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func (jsonCodec) IsBinary() bool { return false }

func protoMessage(msg any) (proto.Message, error) {
	pm, ok := msg.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("%T is not a protobuf message", msg)
	}
	return pm, nil
}
