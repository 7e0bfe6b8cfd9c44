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
// proto.Marshal gives them). Each is made at most once, and then shared by
// every reader: the event log file, stdout, the Event API's subscribers,
// the push client and the spill file. The JSON form is made as the event
// is published while a subscription wants it alone (Wants); any other
// form, by the first reader that asks for it.
// Like the envelope, the bytes must not be modified.
//
// An event read back from the spill file comes with the forms it was
// spilled in; the envelope, and a form it was not spilled in, are decoded
// from those only when a reader asks for them.
type Encoded struct {
	seq      uint32
	terminal bool
	level    int8 // a slog.Level: LevelOf's are small
	env      *pb.Envelope
	disk     *decoded // for an event read back from disk: its envelope, once decoded
	bus      *encoding
	json     lazyBytes
	proto    lazyBytes
}

// decoded is the envelope of an event read back from disk.
type decoded struct {
	once sync.Once
	env  *pb.Envelope
	err  error
}

// lazyBytes is an encoding made once: by the first reader that asks for
// it, or before the event is shared (preset).
type lazyBytes struct {
	mu    sync.Mutex  // held while it is made
	ready atomic.Bool // b and err are set
	b     []byte
	err   error
}

// get returns the encoding, made by enc if it is the first call.
func (l *lazyBytes) get(enc func() ([]byte, error)) ([]byte, error) {
	if l.ready.Load() {
		return l.b, l.err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ready.Load() {
		l.b, l.err = enc()
		l.ready.Store(true)
	}
	return l.b, l.err
}

// preset sets the encoding of an event that no other goroutine can see yet.
func (l *lazyBytes) preset(b []byte, err error) {
	l.b, l.err = b, err
	l.ready.Store(true)
}

// made returns the encoding if it has already been made without error.
func (l *lazyBytes) made() ([]byte, bool) {
	if !l.ready.Load() || l.err != nil {
		return nil, false
	}
	return l.b, true
}

// set gives the encoding, read back from disk, unless it is made.
func (l *lazyBytes) set(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ready.Load() {
		l.b = b
		l.ready.Store(true)
	}
}

// encoding is what a bus's events share for their encodings: the counts of
// the encodings made, and what every event's JSON form starts with.
type encoding struct {
	json, proto atomic.Uint64
	// runID is the event_id of every event, and head the JSON form of
	// every envelope up to its event: from '{' to `"event":`. head is nil
	// if it could not be encoded.
	runID string
	head  []byte
	// second is the text of the second of the last timestamp written.
	second atomic.Pointer[secondText]
}

func newEncoding(runID string) *encoding {
	e := &encoding{runID: runID}
	if b, err := appendEnvelope(nil, &pb.Envelope{ApiVersion: APIVersion, Kind: Kind, EventId: runID}); err == nil {
		e.head = append(b[:len(b)-1], `,"event":`...)
	}
	return e
}

// appendJSON appends env's JSON form, as AppendJSON does, with what it
// shares with every event of the bus copied instead of written anew: the
// envelope's fields up to the event, and a timestamp's second.
func (c *encoding) appendJSON(b []byte, env *pb.Envelope) ([]byte, error) {
	if c.head == nil || env.Event == nil || env.ApiVersion != APIVersion || env.Kind != Kind || env.EventId != c.runID {
		return AppendJSON(b, env)
	}
	w := jsonWriter{b: append(b, c.head...), second: &c.second}
	w.messageEvent(env.Event)
	if w.err != nil {
		return b, w.err
	}
	return append(w.b, '}'), nil
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
func (e *Encoded) Level() slog.Level { return slog.Level(e.level) }

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
		e.bus.json.Add(1)
		return inSlab(func(b []byte) ([]byte, error) { return e.bus.appendJSON(b, env) })
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
		e.bus.proto.Add(1)
		return inSlab(func(b []byte) ([]byte, error) { return appendProto(b, env) })
	})
}

// Encodings are cut from slabs, one allocation for the encodings of many
// events instead of one each. A slab is taken by one encoder at a time; the
// bytes before its length were handed out and are never written again.
// Readers take slabs from a pool; the bus has one of its own for the forms
// it encodes as it publishes.
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
	return inSlabOf(s, enc)
}

// inSlabOf is inSlab with the slab s, which the caller holds.
func inSlabOf(s *[]byte, enc func([]byte) ([]byte, error)) ([]byte, error) {
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
