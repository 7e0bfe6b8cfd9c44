package event

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/wake"
)

// The envelope's fixed fields.
const (
	APIVersion = "skaffold.dev/v1alpha2"
	Kind       = "Event"
)

// Clock tells the time. Tests inject a fake one.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

const (
	// DefaultMemory is how many recent events a bus keeps in memory.
	DefaultMemory = 2048
	// DefaultQueue is how far a live subscriber may fall behind before it
	// is dropped.
	DefaultQueue = 4096
	// batch is how many events a subscriber takes from the ring at once.
	batch = 256
)

// Option configures a Bus.
type Option func(*Bus)

// WithClock makes the bus stamp events with c's time.
func WithClock(c Clock) Option { return func(b *Bus) { b.clock = c } }

// WithRunID sets the run id instead of a new UUIDv7.
func WithRunID(id string) Option { return func(b *Bus) { b.runID = id } }

// WithMemory sets how many recent events are kept in memory; older ones are
// spilled to disk. It is rounded up to a power of two, at least 2*batch.
func WithMemory(n int) Option { return func(b *Bus) { b.memory = n } }

// WithoutHistory makes the bus keep no history beyond its memory: nothing
// is spilled to disk, and a publisher about to overwrite an event that an
// open subscription has not yet taken waits for it instead. It is for a
// run whose readers all subscribe before its first event and read to its
// end, such as one without an Event API server or a push: each event is
// then never written anywhere it is not asked for. Its subscriptions must
// be followers (Follow, Follower), which are never dropped, and must read
// until they close. A subscription that starts after an event left memory
// fails to read it.
func WithoutHistory() Option { return func(b *Bus) { b.noHistory = true } }

// WithSpillDir sets where the spill file is created (default os.TempDir()).
func WithSpillDir(dir string) Option { return func(b *Bus) { b.spillDir = dir } }

// OnPublish has fn called with each event as it is published, in order,
// under the bus's lock: for a quick fold in memory, such as the run's
// state, that must never lag behind the run. fn must not call the bus.
func OnPublish(fn func(env *pb.Envelope)) Option { return func(b *Bus) { b.onPublish = fn } }

// WithLogger sets the logger for the bus's own diagnostics.
func WithLogger(l *slog.Logger) Option { return func(b *Bus) { b.log = l } }

// Bus is one run's event stream.
type Bus struct {
	runID    string
	clock    Clock
	memory   int
	spillDir string
	log      *slog.Logger
	// noHistory: no spill file; publishers wait for subscribers instead
	// (WithoutHistory).
	noHistory bool
	// onPublish, if set, sees each event as it is published.
	onPublish func(env *pb.Envelope)

	mu sync.Mutex
	// ring holds the recent events with their encoded forms. Its slots
	// are written under mu; Encoded reads them without it.
	ring  []atomic.Pointer[Encoded]
	mask  uint32
	last  uint32 // the last sequence published
	ended bool
	live  map[*Subscription]struct{}
	// subs holds the open subscriptions that publishers wait for: every
	// one on a bus without history, those that pace it (Paces) on one
	// with.
	subs map[*Subscription]struct{}
	// taking is set while a publisher waits for the subscriptions in subs
	// to take the events up to takeTo.
	taking bool
	takeTo uint32
	// takenTo is what taken last returned: every subscription in subs has
	// taken at least that far since, for taken only grows.
	takenTo uint32
	// changed wakes waiting subscribers when an event is published or the
	// run ends. It is woken and waited on under mu.
	changed wake.Signal

	// The spiller writes events to disk before the ring overwrites them.
	spill        *spillFile
	spilled      uint32        // every event up to this sequence is on disk
	spillWake    chan struct{} // tells the spiller there is work
	spillDone    chan struct{} // closed when the spiller has exited
	spillAdvance *sync.Cond    // signalled when spilled grows, or a subscription in subs takes events
	spillErr     error

	encodes *encoding
	slab    []byte // for the forms encoded as events are published (see inSlab)
	// readers counts the open subscriptions that need each form, to
	// choose the forms of the spill file (spillForms): the protobuf form
	// for those that want it alone or decode the envelope, the JSON form
	// for those that want it alone.
	readers [2]atomic.Int32 // the protobuf form's, the JSON form's
}

// New returns a bus for a new run.
func New(opts ...Option) (*Bus, error) {
	b := &Bus{clock: systemClock{}, memory: DefaultMemory, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(b)
	}
	if b.runID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("generating run id: %w", err)
		}
		b.runID = id.String()
	}
	b.encodes = newEncoding(b.runID)
	size := uint32(2 * batch)
	for int(size) < b.memory {
		size <<= 1
	}
	b.ring = make([]atomic.Pointer[Encoded], size)
	b.mask = size - 1
	b.live = map[*Subscription]struct{}{}
	b.subs = map[*Subscription]struct{}{}
	b.spillWake = make(chan struct{}, 1)
	b.spillDone = make(chan struct{})
	b.spillAdvance = sync.NewCond(&b.mu)
	if b.noHistory {
		close(b.spillDone)
	} else {
		go b.spiller()
	}
	return b, nil
}

// RunID returns the run's id, the event_id of every event.
func (b *Bus) RunID() string { return b.runID }

// Last returns the last sequence published.
func (b *Bus) Last() uint32 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// Publish stamps ev with the next sequence and the current time and appends
// it to the run. It never waits on a subscriber, except for the slowest of
// those that pace it (Paces), and on a bus without history
// (WithoutHistory) for the slowest of all. The returned envelope, like
// every envelope a subscriber receives, must not be modified. Publishing
// after End drops the event and returns nil.
func (b *Bus) Publish(ev *pb.Event) *pb.Envelope {
	one := &struct {
		rec record
		ts  timestamppb.Timestamp
	}{}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		b.log.Warn("event published after the run ended", "event", ev)
		return nil
	}
	b.waitForSlot()
	b.append(ev, &one.rec, stamp(&one.ts, b.clock.Now()))
	b.dropLagging()
	b.changed.Wake()
	return &one.rec.env
}

// PublishAll publishes evs in order, as Publish does each, as one step:
// for events that arrived together, such as the lines of a build's output
// read at once. They share one timestamp message, the time they are
// published, and their envelopes and encodings are one allocation. It may
// wait midway where Publish would wait before an event (for the spiller,
// or for the slowest subscription that it waits for); the events
// before that wait are then published first, and those after it are
// stamped when it ends.
func (b *Bus) PublishAll(evs []*pb.Event) {
	if len(evs) == 0 {
		return
	}
	recs := make([]record, len(evs))
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		b.log.Warn("events published after the run ended", "events", len(evs), "first", evs[0])
		return
	}
	ts := stamp(new(timestamppb.Timestamp), b.clock.Now())
	for i, ev := range evs {
		if b.mustWait() {
			if i > 0 {
				// The subscribers waited on must first see this
				// batch's events.
				b.changed.Wake()
			}
			b.waitForSlot()
			ts = stamp(new(timestamppb.Timestamp), b.clock.Now())
		}
		b.append(ev, &recs[i], ts)
	}
	b.dropLagging()
	b.changed.Wake()
}

// mustWait reports whether the ring's next slot still holds an event that
// must leave it first: on a bus with history, one not yet on disk; and one
// that a subscription publishers wait for (subs) has not yet taken. It is
// called under mu.
func (b *Bus) mustWait() bool {
	size := uint32(len(b.ring))
	if b.last < size || b.spillErr != nil {
		return false
	}
	if b.spillBehind() {
		return true
	}
	need := b.last + 1 - size
	return b.takenTo < need && b.taken() < need
}

// spillBehind reports whether, on a bus with history, the event in the
// ring's next slot is not yet on disk. It is called under mu, once the
// ring is full.
func (b *Bus) spillBehind() bool {
	return !b.noHistory && b.spilled < b.last+1-uint32(len(b.ring))
}

// waitForSlot waits until the ring's next slot may be reused: until the
// event in it is on disk, with history, and taken by every subscription
// that publishers wait for. The spiller starts at half a ring and a block
// behind, so that the wait for it is rare: only when the disk is slower
// than the publishers for the rest of the ring. It is called under mu,
// which it releases while waiting.
func (b *Bus) waitForSlot() {
	for b.mustWait() {
		if b.spillBehind() {
			b.wakeSpiller()
		} else {
			size := uint32(len(b.ring))
			// Wait until a quarter of the ring is free, not a slot: the
			// publisher then wakes once for many events.
			b.taking, b.takeTo = true, b.last+1-size+size/4
		}
		b.spillAdvance.Wait()
	}
	b.taking = false
}

// stamp sets ts to the time t and returns it.
func stamp(ts *timestamppb.Timestamp, t time.Time) *timestamppb.Timestamp {
	ts.Seconds, ts.Nanos = t.Unix(), int32(t.Nanosecond())
	return ts
}

// append stamps ev with the next sequence and the timestamp ts, fills rec
// with its envelope and puts it in the ring. It is called under mu, once
// the ring's next slot is free; the caller then drops the lagging
// subscribers and wakes the others.
func (b *Bus) append(ev *pb.Event, rec *record, ts *timestamppb.Timestamp) {
	b.last++
	ev.Sequence = b.last
	rec.enc.bus = b.encodes
	ev.Timestamp = ts
	env := &rec.env
	env.ApiVersion, env.Kind, env.EventId, env.Event = APIVersion, Kind, b.runID, ev
	rec.enc.env, rec.enc.seq = env, b.last
	rec.enc.level, rec.enc.terminal = int8(LevelOf(ev)), ev.GetTerminationEvent() != nil
	if b.readers[1].Load() > 0 {
		// A reader wants the JSON form: made now, it needs no lock
		// between the readers that share it.
		b.encodes.json.Add(1)
		rec.enc.json.preset(inSlabOf(&b.slab, func(dst []byte) ([]byte, error) { return b.encodes.appendJSON(dst, env) }))
	}
	b.ring[b.last&b.mask].Store(&rec.enc)
	if b.onPublish != nil {
		b.onPublish(env)
	}
	// The spiller keeps half a ring unspilled and writes whole blocks:
	// wake it when it has one to write.
	if b.last-b.spilled >= uint32(len(b.ring))/2+blockEvents && !b.noHistory {
		b.wakeSpiller()
	}
}

// dropLagging drops the live subscribers that fell behind by more than
// their queue. It is called under mu.
func (b *Bus) dropLagging() {
	if len(b.live) == 0 {
		return // ranging over even an empty map starts an iterator
	}
	for s := range b.live {
		if lag := b.last - s.fetched.Load(); lag > s.queue {
			s.drop()
			delete(b.live, s)
		}
	}
}

// taken returns the last sequence that every subscription publishers
// wait for (subs) has taken from the ring, and remembers it in takenTo.
// It is called under mu. A subscription started after the first events
// left memory would lower it: WithoutHistory does not serve one, and with
// history it reads them from disk, so that a publisher that did not wait
// for it loses nothing.
func (b *Bus) taken() uint32 {
	least := b.last
	for s := range b.subs {
		least = min(least, s.fetched.Load())
	}
	b.takenTo = least
	return least
}

// record is a published envelope with its encodings.
type record struct {
	enc Encoded
	env pb.Envelope
}

// End marks the end of the run: subscribers receive io.EOF after the last
// event. Publish after End is dropped.
func (b *Bus) End() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended {
		return
	}
	b.ended = true
	b.changed.Wake()
}

// Ended reports whether End was called.
func (b *Bus) Ended() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ended
}

// Close ends the run if it has not ended and releases the spill file.
// Subscribers still reading history from disk get an error.
func (b *Bus) Close() error {
	b.End()
	b.mu.Lock()
	b.spillErr = errors.Join(b.spillErr, errClosed)
	b.spillAdvance.Broadcast()
	b.mu.Unlock()
	b.wakeSpiller()
	<-b.spillDone
	if b.spill != nil {
		return b.spill.close()
	}
	return nil
}

var errClosed = errors.New("event bus closed")

// DroppedError ends a live subscription that fell behind by more than its
// queue. Subscribe(Last) resumes it.
type DroppedError struct {
	// Last is the last sequence the subscriber received.
	Last uint32
}

func (e *DroppedError) Error() string {
	return fmt.Sprintf("subscriber fell behind and was dropped after sequence %d; resume after it", e.Last)
}

// SubscribeOption configures a subscription.
type SubscribeOption func(*Subscription)

// WithQueue sets how many events a live subscriber may fall behind before it
// is dropped. Values below the internal batch size are raised to it.
func WithQueue(n int) SubscribeOption {
	return func(s *Subscription) { s.queue = uint32(max(n, batch)) }
}

// Wants declares that the reader uses only the event's encoded form f, and
// neither its envelope nor its other form: events read back from disk are
// then not decoded, and events nobody has read yet are spilled in that
// form. Encoded.Env still decodes one on demand.
func Wants(f Form) SubscribeOption {
	return func(s *Subscription) { s.wants = f }
}

// Paces makes publishers wait for the subscription on a bus with history
// as they do on one without (WithoutHistory): before they overwrite an
// event in memory that it has not taken. It is for an in-process sink
// such as the event log file, which the run writes as it goes: a build
// that prints faster than the sink writes is then held back by memory's
// worth of events, as its output pipe would hold it, instead of pushing
// the sink out of memory into reading its events back from disk. Remote
// subscribers never pace the run; they fall behind onto the disk.
func Paces() SubscribeOption {
	return func(s *Subscription) { s.paces = true }
}

// Subscribe returns a subscription that receives every event after sequence
// after (0 for all), then live events, in order, each once.
func (b *Bus) Subscribe(after uint32, opts ...SubscribeOption) *Subscription {
	s := &Subscription{bus: b, queue: DefaultQueue, delivered: after, dropped: make(chan struct{})}
	s.fetched.Store(after)
	for _, o := range opts {
		o(s)
	}
	b.readersOf(s.wants).Add(1)
	if b.noHistory || s.paces {
		b.mu.Lock()
		b.subs[s] = struct{}{}
		b.mu.Unlock()
	}
	return s
}

// Follow calls fn with every event after sequence after, in order, until the
// run ends (returning nil), fn fails or ctx is done. more tells fn whether
// further events are already at hand, so a writer can flush only when it
// has caught up. It never loses an event: it has no queue bound, and when
// it falls behind the memory ring it reads history from disk. In-process
// sinks use it.
func (b *Bus) Follow(ctx context.Context, after uint32, fn func(env *pb.Envelope, more bool) error) error {
	return b.FollowEncoded(ctx, after, func(e *Encoded, more bool) error { return fn(e.Env(), more) })
}

// FollowEncoded is Follow for a reader that wants an event's encoded
// forms, which every reader shares; opts may say which (Wants).
func (b *Bus) FollowEncoded(ctx context.Context, after uint32, fn func(e *Encoded, more bool) error, opts ...SubscribeOption) error {
	sub := b.Follower(after, opts...)
	defer sub.Close()
	return sub.Each(ctx, fn)
}

// Follower subscribes a reader that follows the bus as FollowEncoded does,
// without a queue bound, from now on: for a reader that must miss nothing
// but starts reading later, on a bus without history (WithoutHistory).
func (b *Bus) Follower(after uint32, opts ...SubscribeOption) *Subscription {
	sub := b.Subscribe(after, opts...)
	sub.queue = math.MaxUint32
	return sub
}

func (b *Bus) wakeSpiller() {
	select {
	case b.spillWake <- struct{}{}:
	default:
	}
}

// spiller writes events to the spill file in batches, outside the lock, so
// that publishing stays a memory operation.
func (b *Bus) spiller() {
	defer close(b.spillDone)
	var envs []*Encoded
	for range b.spillWake {
		b.mu.Lock()
		if b.spillErr != nil {
			b.spillAdvance.Broadcast()
			b.mu.Unlock()
			return
		}
		// Keep half a ring unspilled: those events are likely read from
		// memory before they are ever needed from disk, and an idle or
		// short run never touches the disk at all. Spill whole blocks.
		size := uint32(len(b.ring))
		upTo := b.spilled
		if b.last > size/2 {
			upTo = max(upTo, b.last-size/2)
		}
		upTo -= upTo % blockEvents
		envs = envs[:0]
		for seq := b.spilled + 1; seq <= upTo; seq++ {
			envs = append(envs, b.ring[seq&b.mask].Load())
		}
		from := b.spilled + 1
		b.mu.Unlock()
		if len(envs) == 0 {
			continue
		}
		err := b.writeSpill(from, envs, b.spillForms())
		b.mu.Lock()
		if err != nil {
			b.spillErr = err
			b.log.Error("spilling event history to disk failed; the oldest events will be lost to late subscribers", "err", err)
		} else {
			b.spilled = from + uint32(len(envs)) - 1
		}
		b.spillAdvance.Broadcast()
		b.mu.Unlock()
	}
}

// readersOf returns the count of subscriptions that need the form of one
// that wants f alone, or the envelope (f is 0).
func (b *Bus) readersOf(f Form) *atomic.Int32 {
	if f == FormJSON {
		return &b.readers[1]
	}
	return &b.readers[0]
}

// spillForms are the forms events are spilled in besides those already
// made: each that a reader needs, such as the event log file's JSON or a
// gRPC subscriber's protobuf (the form an envelope is decoded from, being
// the faster to decode), so that a reader that falls behind finds its
// form on disk; protobuf when there is no reader.
func (b *Bus) spillForms() Form {
	var f Form
	if b.readers[0].Load() > 0 {
		f |= FormProto
	}
	if b.readers[1].Load() > 0 {
		f |= FormJSON
	}
	if f == 0 {
		f = FormProto
	}
	return f
}

func (b *Bus) writeSpill(from uint32, envs []*Encoded, form Form) error {
	if b.spill == nil {
		f, err := createSpill(b.spillDir, b.runID)
		if err != nil {
			return err
		}
		b.spill = f
	}
	return b.spill.append(from, envs, form)
}

// Subscription reads a run's events in order. It is used by one goroutine.
type Subscription struct {
	bus   *Bus
	queue uint32

	// fetched is the last sequence taken into buf; the publisher reads it
	// under the bus lock to measure the lag of live subscribers.
	fetched   atomic.Uint32
	delivered uint32
	buf       []*Encoded
	live      bool
	dropped   chan struct{}
	closed    bool
	wants     Form // the one form the reader uses, or 0 for the envelope
	paces     bool // publishers wait for it on a bus with history too (Paces)
}

// drop is called by the publisher, under the bus lock.
func (s *Subscription) drop() {
	close(s.dropped)
}

// Last returns the last sequence delivered by Next.
func (s *Subscription) Last() uint32 { return s.delivered }

// Buffered returns how many events Next can return without waiting.
func (s *Subscription) Buffered() int { return len(s.buf) }

// Close releases the subscription. After it, Next returns the events it
// had already taken from the bus (Buffered), then io.ErrClosedPipe.
func (s *Subscription) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.bus.readersOf(s.wants).Add(-1)
	s.bus.mu.Lock()
	delete(s.bus.live, s)
	delete(s.bus.subs, s)
	if s.bus.taking {
		s.bus.spillAdvance.Broadcast()
	}
	s.bus.mu.Unlock()
}

// Next returns the next event. It returns io.EOF after the last event of an
// ended run, a *DroppedError when the subscriber fell behind, or ctx's error.
func (s *Subscription) Next(ctx context.Context) (*pb.Envelope, error) {
	e, err := s.NextEncoded(ctx)
	if err != nil {
		return nil, err
	}
	return e.Env(), nil
}

// NextEncoded is Next for a reader that wants the event's encoded forms,
// which every reader shares.
func (s *Subscription) NextEncoded(ctx context.Context) (*Encoded, error) {
	if err := s.await(ctx); err != nil {
		return nil, err
	}
	e := s.buf[0]
	s.buf[0] = nil
	s.buf = s.buf[1:]
	s.delivered = e.seq
	return e, nil
}

// Each calls fn with every event, and whether more are at hand, until the
// run ends (returning nil), fn fails or ctx is done.
func (s *Subscription) Each(ctx context.Context, fn func(e *Encoded, more bool) error) error {
	for {
		env, err := s.NextEncoded(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(env, s.Buffered() > 0); err != nil {
			return err
		}
	}
}

// EachBatch is Each for a reader that handles the events at hand
// together: fn gets them in order, as many at once as the subscription
// took from the bus (at most a batch of memory, or a block of the spill
// file), and the last of them is the last at hand. es is valid only
// during the call. Last counts the events of a call as delivered when it
// is made.
func (s *Subscription) EachBatch(ctx context.Context, fn func(es []*Encoded) error) error {
	for {
		if err := s.await(ctx); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		es := s.buf
		s.delivered = es[len(es)-1].seq
		err := fn(es)
		clear(es)
		s.buf = es[:0]
		if err != nil {
			return err
		}
	}
}

// await fills buf unless it holds events: it returns the error of fill
// (io.EOF after the last event of an ended run), or io.ErrClosedPipe
// once the subscription is closed and buf is empty.
func (s *Subscription) await(ctx context.Context) error {
	for len(s.buf) == 0 {
		if s.closed {
			return io.ErrClosedPipe
		}
		if err := s.fill(ctx); err != nil {
			return err
		}
	}
	return nil
}

// fill takes the next batch of events from memory or disk, or waits for one.
func (s *Subscription) fill(ctx context.Context) error {
	b := s.bus
	for {
		select {
		case <-s.dropped:
			return &DroppedError{Last: s.delivered}
		default:
		}
		next := s.fetched.Load() + 1
		b.mu.Lock()
		size := uint32(len(b.ring))
		inMemory := b.last < size || next > b.last-size
		switch {
		case next <= b.last && inMemory:
			end := min(b.last, next+batch-1)
			s.buf = s.buf[:0]
			for seq := next; seq <= end; seq++ {
				s.buf = append(s.buf, b.ring[seq&b.mask].Load())
			}
			s.fetched.Store(end)
			if b.taking && end >= b.takeTo {
				b.spillAdvance.Broadcast()
			}
			if !s.live && b.last-end <= s.queue {
				// Caught up: from now on the queue bound applies.
				// A follower (Follow) has none, so the publisher
				// need not check it.
				s.live = true
				if s.queue != math.MaxUint32 {
					b.live[s] = struct{}{}
				}
			}
			b.mu.Unlock()
			return nil
		case next <= b.last:
			// Older than memory: read from the spill file.
			spill, err := b.spill, b.spillErr
			b.mu.Unlock()
			if spill == nil {
				return fmt.Errorf("reading event history after %d: %w", next-1, errors.Join(err, errors.New("not on disk")))
			}
			return s.fillFromDisk(spill, next)
		case b.ended:
			b.mu.Unlock()
			return io.EOF
		}
		wait := b.changed.Wait()
		b.mu.Unlock()
		select {
		case <-wait:
		case <-s.dropped:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Subscription) fillFromDisk(spill *spillFile, next uint32) error {
	readers := s.bus.readers[0].Load() + s.bus.readers[1].Load()
	events, err := spill.block(next, s.bus.encodes, keptBlocks(int(readers)))
	if err != nil {
		return fmt.Errorf("reading event history at sequence %d: %w", next, err)
	}
	s.buf = append(s.buf[:0], events...)
	if s.wants == 0 {
		for _, e := range s.buf {
			if _, err := e.envelope(); err != nil {
				return fmt.Errorf("reading event history at sequence %d: %w", e.seq, err)
			}
		}
	}
	s.fetched.Store(s.buf[len(s.buf)-1].seq)
	return nil
}
