package event

import (
	"errors"
	"fmt"
	"log/slog"
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
//
// An event read back from the spill file comes with the forms it was
// spilled in; the envelope, and a form it was not spilled in, are decoded
// from those only when a reader asks for them.
type Encoded struct {
	seq      uint32
	terminal bool
	level    slog.Level
	env      *pb.Envelope
	disk     *decoded // for an event read back from disk: its envelope, once decoded
	count    *encodeCount
	json     lazyBytes
	proto    lazyBytes
}

// decoded is the envelope of an event read back from disk.
type decoded struct {
	once sync.Once
	env  *pb.Envelope
	err  error
}

// lazyBytes is an encoding made once.
type lazyBytes struct {
	once  sync.Once
	ready atomic.Bool // b and err are set
	b     []byte
	err   error
}

// get returns the encoding, made by enc if it is the first call.
func (l *lazyBytes) get(enc func() ([]byte, error)) ([]byte, error) {
	l.once.Do(func() {
		l.b, l.err = enc()
		l.ready.Store(true)
	})
	return l.b, l.err
}

// made returns the encoding if it has already been made without error.
func (l *lazyBytes) made() ([]byte, bool) {
	if !l.ready.Load() || l.err != nil {
		return nil, false
	}
	return l.b, true
}

// set gives the encoding, read back from disk.
func (l *lazyBytes) set(b []byte) {
	l.once.Do(func() {
		l.b = b
		l.ready.Store(true)
	})
}

// encodeCount counts the encodings a bus has made.
type encodeCount struct {
	json, proto atomic.Uint64
}

// A Form is an encoded form of an event, for Wants.
type Form uint8

// The encoded forms.
const (
	FormProto Form = 1 << iota
	FormJSON
)

// Seq returns the event's sequence.
func (e *Encoded) Seq() uint32 { return e.seq }

// Terminal reports whether the event is the terminationEvent.
func (e *Encoded) Terminal() bool { return e.terminal }

// Level returns the event's level, as LevelOf gives it.
func (e *Encoded) Level() slog.Level { return e.level }

// Env returns the event. For an event read back from disk it is decoded on
// the first call; a subscription that wants the envelope (that is, did not
// subscribe with Wants) has already decoded it, and for one that did, Env
// returns nil if the spilled bytes no longer decode.
func (e *Encoded) Env() *pb.Envelope {
	env, _ := e.envelope()
	return env
}

func (e *Encoded) envelope() (*pb.Envelope, error) {
	if e.disk == nil {
		return e.env, nil
	}
	d := e.disk
	d.once.Do(func() {
		if b, ok := e.proto.made(); ok {
			env := &pb.Envelope{}
			d.err = proto.Unmarshal(b, env)
			d.env = env
		} else if b, ok := e.json.made(); ok {
			d.env, d.err = UnmarshalJSON(b)
		} else {
			d.err = errors.New("no encoding was spilled")
		}
		if got := d.env.GetEvent().GetSequence(); d.err == nil && got != e.seq {
			d.err = fmt.Errorf("spilled as sequence %d, decoded as %d", e.seq, got)
		}
		if d.err != nil {
			d.env, d.err = nil, fmt.Errorf("decoding event %d read back from disk: %w", e.seq, d.err)
		}
	})
	return d.env, d.err
}

// JSON returns the event's JSON form, one line without the newline.
func (e *Encoded) JSON() ([]byte, error) {
	return e.json.get(func() ([]byte, error) {
		env, err := e.envelope()
		if err != nil {
			return nil, err
		}
		e.count.json.Add(1)
		return inSlab(func(b []byte) ([]byte, error) { return AppendJSON(b, env) })
	})
}

// Proto returns the event's protobuf form: exactly what proto.Marshal
// gives for it (the envelope holds no map, so its encoding is
// deterministic).
func (e *Encoded) Proto() ([]byte, error) {
	return e.proto.get(func() ([]byte, error) {
		env, err := e.envelope()
		if err != nil {
			return nil, err
		}
		e.count.proto.Add(1)
		return inSlab(func(b []byte) ([]byte, error) { return appendProto(b, env) })
	})
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

// Encodes returns how many times the bus has encoded an event to JSON and
// to protobuf, for every reader together: once each per event at most,
// except for an event read back from disk in one form and asked for in
// the other.
func (b *Bus) Encodes() (json, proto uint64) {
	return b.encodes.json.Load(), b.encodes.proto.Load()
}
