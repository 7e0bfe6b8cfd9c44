package event

import (
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
)

// Encoded is one event of a bus with its two encoded forms: its JSON line
// (as AppendJSON writes it, without the newline) and its protobuf bytes (as
// proto.Marshal gives them). Each is made at most once, by the first reader
// that asks for it, and then shared by every reader: the event log file,
// stdout, the Event API's subscribers, the push client and the spill file.
// Like the envelope, the bytes must not be modified.
type Encoded struct {
	env   *pb.Envelope
	count *encodeCount
	json  lazyBytes
	proto lazyBytes
}

// lazyBytes is an encoding made once.
type lazyBytes struct {
	once sync.Once
	b    []byte
	err  error
}

// encodeCount counts the encodings a bus has made.
type encodeCount struct {
	json, proto atomic.Uint64
}

// Env returns the event.
func (e *Encoded) Env() *pb.Envelope { return e.env }

// JSON returns the event's JSON form, one line without the newline.
func (e *Encoded) JSON() ([]byte, error) {
	e.json.once.Do(func() {
		e.json.b, e.json.err = marshalJSONExact(e.env)
		e.count.json.Add(1)
	})
	return e.json.b, e.json.err
}

// Proto returns the event's protobuf form: exactly what proto.Marshal
// gives for it (the envelope holds no map, so its encoding is
// deterministic).
func (e *Encoded) Proto() ([]byte, error) {
	e.proto.once.Do(func() {
		e.proto.b, e.proto.err = proto.Marshal(e.env)
		e.count.proto.Add(1)
	})
	return e.proto.b, e.proto.err
}

// scratch holds buffers to encode JSON in before it is copied to a slice
// of its exact size, which the ring then keeps: growing the slice while
// encoding would allocate several times as much.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

func marshalJSONExact(env *pb.Envelope) ([]byte, error) {
	buf, ok := scratch.Get().(*[]byte)
	if !ok {
		buf = new([]byte)
	}
	defer scratch.Put(buf)
	var err error
	if *buf, err = AppendJSON((*buf)[:0], env); err != nil {
		return nil, err
	}
	return append([]byte(nil), *buf...), nil
}

// setProto gives e the protobuf bytes it was decoded from.
func (e *Encoded) setProto(b []byte) {
	e.proto.once.Do(func() { e.proto.b = b })
}

// Encoded returns env with its shared encoded forms when env is one of the
// events the bus holds in memory, and nil otherwise (an envelope that did
// not come from this bus, or one already spilled to disk). It takes no
// lock.
func (b *Bus) Encoded(env *pb.Envelope) *Encoded {
	seq := env.GetEvent().GetSequence()
	if seq == 0 {
		return nil
	}
	if e := b.ring[seq&b.mask].Load(); e != nil && e.env == env {
		return e
	}
	return nil
}

// JSON returns env's JSON form, one line without the newline: the shared
// bytes when the bus holds env in memory, new ones otherwise. The bytes
// must not be modified.
func (b *Bus) JSON(env *pb.Envelope) ([]byte, error) {
	if e := b.Encoded(env); e != nil {
		return e.JSON()
	}
	b.encodes.json.Add(1)
	return MarshalJSON(env)
}

// Proto returns env's protobuf form, as proto.Marshal gives it: the shared
// bytes when the bus holds env in memory, new ones otherwise. The bytes
// must not be modified.
func (b *Bus) Proto(env *pb.Envelope) ([]byte, error) {
	if e := b.Encoded(env); e != nil {
		return e.Proto()
	}
	b.encodes.proto.Add(1)
	return proto.Marshal(env)
}

// Encodes returns how many times the bus has encoded an event to JSON and
// to protobuf, for every reader together: once each per event at most,
// except for events a reader asks about after they left memory.
func (b *Bus) Encodes() (json, proto uint64) {
	return b.encodes.json.Load(), b.encodes.proto.Load()
}
