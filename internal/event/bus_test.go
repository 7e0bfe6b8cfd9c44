package event_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/testutil"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }

// collect reads sub until EOF and checks that sequences run from first,
// contiguous, each once.
func collect(t *testing.T, sub *event.Subscription, first uint32) []*pb.Envelope {
	t.Helper()
	var got []*pb.Envelope
	want := first
	for {
		env, err := sub.Next(t.Context())
		if errors.Is(err, io.EOF) {
			return got
		}
		if err != nil {
			t.Errorf("after %d events: %v", len(got), err)
			return got
		}
		if env.Event.Sequence != want {
			t.Errorf("got sequence %d, want %d", env.Event.Sequence, want)
			return got
		}
		want++
		got = append(got, env)
	}
}

func TestEnvelopeStamps(t *testing.T) {
	loc := time.FixedZone("CEST", 2*3600)
	clock := &fakeClock{t: time.Date(2023, 10, 27, 12, 0, 0, 500_000_000, loc)}
	b := testutil.NewBus(t, event.WithClock(clock))
	env := b.Publish(testutil.LogEvent("my-app", "hello"))
	id, err := uuid.Parse(env.EventId)
	if err != nil || id.Version() != 7 {
		t.Fatalf("event_id %q is not a UUIDv7 (err %v)", env.EventId, err)
	}
	if env.ApiVersion != "skaffold.dev/v1alpha2" || env.Kind != "Event" {
		t.Errorf("envelope = %q %q", env.ApiVersion, env.Kind)
	}
	if got, want := env.Event.Timestamp.AsTime(), time.Date(2023, 10, 27, 10, 0, 0, 500_000_000, time.UTC); !got.Equal(want) {
		t.Errorf("timestamp = %v, want %v", got, want)
	}
	js, err := event.MarshalJSON(env)
	if err != nil {
		t.Fatal(err)
	}
	back, err := event.UnmarshalJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	if ts := back.Event.Timestamp.AsTime(); ts.Location() != time.UTC || !ts.Equal(clock.t) {
		t.Errorf("timestamp after JSON = %v", ts)
	}
}

func TestConcurrentPublishersContiguous(t *testing.T) {
	const publishers, each = 16, 5000
	b := testutil.NewBus(t, event.WithMemory(1024))
	subs := make([]*event.Subscription, 4)
	for i := range subs {
		subs[i] = b.Subscribe(0, event.WithQueue(publishers*each))
	}
	results := make([][]*pb.Envelope, len(subs))
	var readers sync.WaitGroup
	for i, s := range subs {
		readers.Go(func() { results[i] = collect(t, s, 1) })
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				b.Publish(testutil.LogEvent(fmt.Sprintf("img-%d", p), fmt.Sprint(i)))
			}
		})
	}
	wg.Wait()
	b.End()
	readers.Wait()
	for i, got := range results {
		if len(got) != publishers*each {
			t.Fatalf("subscriber %d got %d events, want %d", i, len(got), publishers*each)
		}
		// Each publisher's own events stay in its order.
		next := map[string]int{}
		for _, env := range got {
			be := env.Event.GetBuildEvent()
			if want := fmt.Sprint(next[be.Image]); be.Log != want {
				t.Fatalf("subscriber %d: %s line %s, want %s", i, be.Image, be.Log, want)
			}
			next[be.Image]++
		}
	}
}

func TestStalledSubscriberIsDroppedAndResumes(t *testing.T) {
	const total = 50_000
	b := testutil.NewBus(t, event.WithMemory(1024))
	stalled := b.Subscribe(0, event.WithQueue(300))
	// The stalled subscriber reads the first event, then stops reading.
	b.Publish(testutil.LogEvent("app", "first"))
	if env, err := stalled.Next(t.Context()); err != nil || env.Event.Sequence != 1 {
		t.Fatalf("first read: %v %v", env, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total - 1 {
			b.Publish(testutil.LogEvent("app", fmt.Sprint(i)))
		}
		b.End()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("publishing waited on a stalled subscriber")
	}
	// Drain what was queued; the subscriber must then learn it was dropped.
	last := uint32(1)
	var err error
	for {
		var env *pb.Envelope
		env, err = stalled.Next(t.Context())
		if err != nil {
			break
		}
		if env.Event.Sequence != last+1 {
			t.Fatalf("sequence %d after %d", env.Event.Sequence, last)
		}
		last = env.Event.Sequence
	}
	var dropped *event.DroppedError
	if !errors.As(err, &dropped) {
		t.Fatalf("stalled subscriber ended with %v, want a DroppedError", err)
	}
	if dropped.Last != last || last >= total {
		t.Fatalf("dropped.Last = %d, delivered %d of %d", dropped.Last, last, total)
	}
	resumed := b.Subscribe(dropped.Last)
	rest := collect(t, resumed, dropped.Last+1)
	if got := uint32(len(rest)) + last; got != total {
		t.Fatalf("after resuming: %d events in all, want %d", got, total)
	}
}

func TestLateSubscribersReadHistoryFromDisk(t *testing.T) {
	const total = 20_000
	b := testutil.NewBus(t, event.WithMemory(512))
	for i := range total {
		b.Publish(testutil.LogEvent("app", fmt.Sprint(i)))
	}
	b.End()
	for _, after := range []uint32{0, 1, 255, 256, 257, 9_999, total - 600, total - 1, total} {
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			got := collect(t, b.Subscribe(after), after+1)
			if len(got) != int(total-after) {
				t.Fatalf("got %d events, want %d", len(got), total-after)
			}
			for _, env := range got {
				if want := fmt.Sprint(env.Event.Sequence - 1); env.Event.GetBuildEvent().Log != want {
					t.Fatalf("sequence %d carries %q", env.Event.Sequence, env.Event.GetBuildEvent().Log)
				}
			}
		})
	}
}

func TestFollowNeverLoses(t *testing.T) {
	const total = 30_000
	b := testutil.NewBus(t, event.WithMemory(512))
	var got []uint32
	done := make(chan error, 1)
	go func() {
		done <- b.Follow(t.Context(), 0, func(env *pb.Envelope, _ bool) error {
			if len(got)%1000 == 0 {
				time.Sleep(2 * time.Millisecond) // fall behind now and then
			}
			got = append(got, env.Event.Sequence)
			return nil
		})
	}()
	for i := range total {
		b.Publish(testutil.LogEvent("app", fmt.Sprint(i)))
	}
	b.End()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(got) != total {
		t.Fatalf("followed %d events, want %d", len(got), total)
	}
	for i, s := range got {
		if s != uint32(i+1) {
			t.Fatalf("event %d has sequence %d", i, s)
		}
	}
}

// TestEachBatch reads a run in batches, from memory and, for a reader
// that falls behind, from disk: each batch is what is at hand, in order,
// and together they are every event once. An error of fn ends the read
// after that batch.
func TestEachBatch(t *testing.T) {
	const total = 20_000
	b := testutil.NewBus(t, event.WithMemory(512))
	sub := b.Subscribe(0)
	late := b.Subscribe(0)
	publish(b, total, 7)
	b.End()
	want := uint32(1)
	batches := 0
	err := sub.EachBatch(t.Context(), func(es []*event.Encoded) error {
		if len(es) == 0 {
			t.Fatal("an empty batch")
		}
		for _, e := range es {
			if e.Seq() != want {
				t.Fatalf("got sequence %d, want %d", e.Seq(), want)
			}
			if got := e.Env().Event.GetBuildEvent().Log; got != fmt.Sprint(want-1) {
				t.Fatalf("sequence %d carries %q", want, got)
			}
			want++
		}
		batches++
		return nil
	})
	if err != nil || want != total+1 {
		t.Fatalf("EachBatch = %v after %d events, want nil after %d", err, want-1, total)
	}
	if batches < total/256 {
		t.Fatalf("%d batches for %d events: more than a batch each", batches, total)
	}
	stop := errors.New("stop")
	err = late.EachBatch(t.Context(), func(es []*event.Encoded) error { return stop })
	if !errors.Is(err, stop) || late.Last() == 0 {
		t.Fatalf("EachBatch = %v with Last %d, want the error of fn after a batch", err, late.Last())
	}
}

func TestNextHonoursContext(t *testing.T) {
	b := testutil.NewBus(t)
	sub := b.Subscribe(0)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := sub.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next = %v, want deadline exceeded", err)
	}
}

func TestPublishAfterEndIsDropped(t *testing.T) {
	b := testutil.NewBus(t)
	b.Publish(testutil.LogEvent("app", "a"))
	b.End()
	if env := b.Publish(testutil.LogEvent("app", "b")); env != nil {
		t.Fatalf("publish after End returned %v", env)
	}
	if got := collect(t, b.Subscribe(0), 1); len(got) != 1 {
		t.Fatalf("got %d events, want 1", len(got))
	}
}

// TestWithoutHistory checks that a bus without history loses no event to
// followers that fall far behind its memory, by holding its publisher back,
// and writes nothing to disk: the followers read the envelope, so anything
// spilled would have been encoded to protobuf. The events are published one
// by one, and in batches larger than the bus's memory, which must wait
// midway.
func TestWithoutHistory(t *testing.T) {
	for _, batch := range []int{1, 700} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) { testWithoutHistory(t, batch) })
	}
}

func testWithoutHistory(t *testing.T, batch int) {
	const total, readers = 30_000, 2
	b := testutil.NewBus(t, event.WithMemory(512), event.WithoutHistory())
	got := make([][]uint32, readers)
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for r := range readers {
		started := make(chan struct{})
		wg.Go(func() {
			sub := b.Subscribe(0)
			defer sub.Close()
			close(started)
			for {
				env, err := sub.Next(t.Context())
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if r == 0 && len(got[r])%1000 == 0 {
					time.Sleep(2 * time.Millisecond) // fall behind now and then
				}
				got[r] = append(got[r], env.Event.Sequence)
			}
		})
		<-started
	}
	publish(b, total, batch)
	b.End()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for r := range readers {
		if len(got[r]) != total {
			t.Fatalf("reader %d got %d events, want %d", r, len(got[r]), total)
		}
		for i, s := range got[r] {
			if s != uint32(i+1) {
				t.Fatalf("reader %d: event %d has sequence %d", r, i, s)
			}
		}
	}
	if _, protos := b.Encodes(); protos != 0 {
		t.Errorf("%d events were encoded to protobuf, for a spill file that should not exist", protos)
	}
	// A subscriber that comes after the first events left memory cannot
	// read them.
	late := b.Subscribe(0)
	defer late.Close()
	if _, err := late.Next(t.Context()); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("late subscriber's first Next = %v; want an error, the history being gone", err)
	}
}

// TestPaces checks that on a bus with history a subscription that paces
// it, as a sink does, holds its publisher back once the publisher is a
// memory's worth of events ahead of it, and that one that does not, as an
// Event API subscriber does not, never holds it back and reads what left
// memory from disk. Both get every event in order.
func TestPaces(t *testing.T) {
	const memory, total = 512, 4 * 512
	b := testutil.NewBus(t, event.WithMemory(memory))
	paced := b.Follower(0, event.Paces())
	defer paced.Close()
	idle := b.Follower(0)
	defer idle.Close()
	published := make(chan struct{})
	go func() {
		defer close(published)
		publish(b, total, 100)
		b.End()
	}()
	for deadline := time.Now().Add(10 * time.Second); b.Last() < memory; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("published %d events, want %d before the publisher waits", b.Last(), memory)
		}
	}
	select {
	case <-published:
		t.Fatalf("published all %d events while the paced subscription had taken none", total)
	case <-time.After(50 * time.Millisecond):
	}
	if last := b.Last(); last != memory {
		t.Fatalf("published %d events ahead of the paced subscription, want %d", last, memory)
	}
	readAll := func(name string, sub *event.Subscription) {
		t.Helper()
		for want := uint32(1); ; want++ {
			env, err := sub.Next(t.Context())
			if errors.Is(err, io.EOF) {
				if want != total+1 {
					t.Fatalf("%s got %d events, want %d", name, want-1, total)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if env.Event.Sequence != want {
				t.Fatalf("%s got sequence %d, want %d", name, env.Event.Sequence, want)
			}
		}
	}
	readAll("paced", paced)
	<-published
	readAll("idle", idle)
}

// publish publishes total log events, with Publish for a batch of 1, else
// with PublishAll in batches of that many.
func publish(b *event.Bus, total, batch int) {
	evs := make([]*pb.Event, 0, batch)
	for i := range total {
		ev := testutil.LogEvent("app", fmt.Sprint(i))
		if batch == 1 {
			b.Publish(ev)
			continue
		}
		if evs = append(evs, ev); len(evs) == batch || i == total-1 {
			b.PublishAll(evs)
			evs = evs[:0]
		}
	}
}

// TestPublishAll publishes batches on a bus with history, each larger than
// its memory, so that each waits midway for the spiller: each batch's
// events get the next sequences and one timestamp, and a follower and a
// late subscriber, which reads the first from disk, get every one.
func TestPublishAll(t *testing.T) {
	clock := &fakeClock{t: time.Date(2023, 10, 27, 12, 0, 0, 0, time.UTC)}
	b := testutil.NewBus(t, event.WithMemory(512), event.WithClock(clock))
	follower := b.Follower(0)
	defer follower.Close()
	b.PublishAll(nil) // nothing
	for i := range 10 {
		evs := make([]*pb.Event, 600)
		for j := range evs {
			evs[j] = testutil.LogEvent("app", fmt.Sprint(i, j))
		}
		b.PublishAll(evs)
		clock.t = clock.t.Add(time.Second)
	}
	b.End()
	late := b.Subscribe(0)
	defer late.Close()
	for name, sub := range map[string]*event.Subscription{"follower": follower, "late": late} {
		got := collect(t, sub, 1)
		if len(got) != 6000 {
			t.Fatalf("%s got %d events, want 6000", name, len(got))
		}
		for i, env := range got {
			want := time.Date(2023, 10, 27, 12, 0, i/600, 0, time.UTC)
			if ts := env.Event.Timestamp.AsTime(); !ts.Equal(want) || env.Event.GetBuildEvent().GetLog() != fmt.Sprint(i/600, i%600) {
				t.Fatalf("%s: event %d at %v with log %q, want %v and %q", name, i+1, ts, env.Event.GetBuildEvent().GetLog(), want, fmt.Sprint(i/600, i%600))
			}
		}
	}
}

// TestSubscribersShareHistoryReadFromDisk reads a run's history from disk
// with subscribers that keep pace with each other and with one that
// starts when those are done: the first share each event read back (the
// same *Encoded, read and decoded once), the last, far behind the blocks
// kept in memory, reads them again; all get every event in order.
func TestSubscribersShareHistoryReadFromDisk(t *testing.T) {
	const total = 20_000
	b := testutil.NewBus(t, event.WithMemory(512))
	for i := range total {
		b.Publish(testutil.LogEvent("app", fmt.Sprint(i)))
	}
	testutil.Terminate(b)
	read := func(sub *event.Subscription) ([]*event.Encoded, error) {
		defer sub.Close()
		var got []*event.Encoded
		for {
			e, err := sub.NextEncoded(t.Context())
			if errors.Is(err, io.EOF) {
				return got, nil
			}
			if err != nil {
				return got, err
			}
			if want := uint32(len(got) + 1); e.Seq() != want || e.Env().Event.GetBuildEvent().GetLog() != fmt.Sprint(want-1) && !e.Terminal() {
				return got, fmt.Errorf("got event %d (%v), want %d", e.Seq(), e.Env(), want)
			}
			got = append(got, e)
		}
	}
	// In step: each takes a batch in turn.
	a, c := b.Subscribe(0), b.Subscribe(0)
	var ea, ec []*event.Encoded
	for len(ea) < total+1 || len(ec) < total+1 {
		for _, s := range []struct {
			sub *event.Subscription
			got *[]*event.Encoded
		}{{a, &ea}, {c, &ec}} {
			for range min(s.sub.Buffered()+1, total+1-len(*s.got)) {
				e, err := s.sub.NextEncoded(t.Context())
				if err != nil {
					t.Fatalf("after %d events: %v", len(*s.got), err)
				}
				*s.got = append(*s.got, e)
			}
		}
	}
	a.Close()
	c.Close()
	late, err := read(b.Subscribe(0))
	if err != nil || len(late) != total+1 {
		t.Fatalf("the late subscriber got %d events and %v, want %d", len(late), err, total+1)
	}
	shared, again := 0, 0
	for i := range min(len(ea), len(ec)) {
		if ea[i] == ec[i] {
			shared++
		}
		if ea[i] == late[i] {
			again++
		}
	}
	// All of them, and the late one those of the blocks last read (a
	// few thousand events) and of memory.
	if shared != total+1 || again > total/2 {
		t.Errorf("%d of %d events shared by the subscribers in step, %d by the late one", shared, total+1, again)
	}
}
