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
		e.json.b, e.json.err = inSlab(func(b []byte) ([]byte, error) { return AppendJSON(b, e.env) })
		e.count.json.Add(1)
	})
	return e.json.b, e.json.err
}

// Proto returns the event's protobuf form: exactly what proto.Marshal
// gives for it (the envelope holds no map, so its encoding is
// deterministic).
func (e *Encoded) Proto() ([]byte, error) {
	e.proto.once.Do(func() {
		e.proto.b, e.proto.err = inSlab(func(b []byte) ([]byte, error) { return appendProto(b, e.env) })
		e.count.proto.Add(1)
	})
	return e.proto.b, e.proto.err
}

// Encodings are cut from slabs, one allocation for the encodings of many
// events instead of one each. A slab is taken by one encoder at a time; the
// bytes before its length were handed out and are never written again.
var slabs = sync.Pool{New: func() any { return new([]byte) }}

const (
	// slabSize is the size of a new slab: the encodings of about a
	// hundred typical events.
	slabSize = 32 << 10
	// slabTail is the free space below which a slab is left for a new one.
	slabTail = 1 << 10
)

// inSlab returns what enc appends to an empty slice, stored in a slab. The
// result's capacity ends at its length, so that a reader appending to it
// cannot reach the next event's bytes.
func inSlab(enc func([]byte) ([]byte, error)) ([]byte, error) {
	s, ok := slabs.Get().(*[]byte)
	if !ok {
		s = new([]byte)
	}
	defer slabs.Put(s)
	if cap(*s)-len(*s) < slabTail {
		*s = make([]byte, 0, slabSize)
	}
	start := len(*s)
	out, err := enc((*s)[start:start])
	if err != nil {
		// What enc wrote is left to be overwritten.
		return nil, err
	}
	if len(out) == 0 {
		return out[:0:0], nil
	}
	n := len(out)
	if &out[0] == &(*s)[start : start+1][0] {
		// Encoded in place.
		*s = (*s)[:start+n]
		return out[:n:n], nil
	}
	// It did not fit in what was left of the slab.
	if n > slabSize/4 {
		return out[:n:n], nil
	}
	*s = append(make([]byte, 0, slabSize), out...)
	return (*s)[:n:n], nil
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
