package rpc

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/wake"
)

// DefaultDrainTimeout bounds how long the end of a run waits for the
// subscribers still streaming: gRPC, Connect and JSON lines alike.
const DefaultDrainTimeout = time.Minute

// subscriber is one stream a Server is serving.
type subscriber struct {
	peer string
	// sent is the sequence of the last event handed to the stream.
	sent atomic.Uint32
	// cut is set when the drain bound has passed: the stream sends
	// nothing more and ends with drainCutError.
	cut atomic.Bool
}

// subscribers are the streams a Server is serving, so that the end of a run
// can wait until each has been sent every event.
type subscribers struct {
	mu      sync.Mutex
	live    map[*subscriber]struct{}
	changed wake.Signal // woken when a stream starts or ends
	// owed counts the streams ended because their subscriber fell behind,
	// less the streams that resumed since; ended is when the last stream
	// of any kind ended.
	owed  int
	ended time.Time
}

// add registers a stream from peer; resuming is set for one that starts
// after a sequence, as a subscriber that fell behind resumes.
func (ss *subscribers) add(peer string, resuming bool) *subscriber {
	sub := &subscriber{peer: peer}
	ss.mu.Lock()
	if resuming && ss.owed > 0 {
		ss.owed--
	}
	if ss.live == nil {
		ss.live = map[*subscriber]struct{}{}
	}
	ss.live[sub] = struct{}{}
	ss.mu.Unlock()
	ss.changed.Wake()
	return sub
}

func (ss *subscribers) remove(sub *subscriber) {
	ss.mu.Lock()
	delete(ss.live, sub)
	ss.ended = time.Now()
	ss.mu.Unlock()
	ss.changed.Wake()
}

// drop records that a stream is ending because its subscriber fell behind.
func (ss *subscribers) drop() {
	ss.mu.Lock()
	ss.owed++
	ss.mu.Unlock()
}

// snapshot returns the live subscribers; when the last stream ended, if a
// subscriber that fell behind has not resumed since (or the zero time);
// and a channel closed at the next change, taken before the read so that
// no change is missed.
func (ss *subscribers) snapshot() ([]*subscriber, time.Time, <-chan struct{}) {
	changed := ss.changed.Wait()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	out := make([]*subscriber, 0, len(ss.live))
	for sub := range ss.live {
		out = append(out, sub)
	}
	if ss.owed == 0 {
		return out, time.Time{}, changed
	}
	return out, ss.ended, changed
}

// Cut is a subscriber that the drain bound cut off before it had been sent
// the whole run.
type Cut struct {
	// Peer is the subscriber's address.
	Peer string
	// Sent is the sequence of the last event it was sent; Last the run's.
	Sent, Last uint32
}

// Drain waits, at most timeout, until every connected subscriber has been
// sent the run's events through the terminationEvent and its stream has
// ended. Call it once the run has ended. A subscriber that fell behind,
// which is likely near the end of a run that outran it, was ended with
// SlowConsumerError and is still reading what it was sent; it then
// resumes with a new stream. Until as many streams have resumed (started
// after a sequence) as were ended so, Drain waits for them to come back,
// and for their new streams in turn, until resume has passed since the
// last stream of any subscriber ended: the one that fell behind may share
// its machine, or its process, with others still streaming, and read
// slowly until they are done.
// Subscribers still streaming when the bound passes are cut: each is sent
// nothing more and ends with drainCutError, a status it can resume from,
// and Drain returns them.
func (s *Server) Drain(ctx context.Context, timeout, resume time.Duration) []Cut {
	bound := time.NewTimer(timeout)
	defer bound.Stop()
	for {
		live, ended, changed := s.subs.snapshot()
		var back <-chan time.Time
		if len(live) == 0 {
			wait := time.Until(ended.Add(resume))
			if ended.IsZero() || wait <= 0 {
				return nil
			}
			back = time.After(wait)
		}
		select {
		case <-changed:
			continue
		case <-back:
			continue
		case <-bound.C:
		case <-ctx.Done():
		}
		if len(live) == 0 {
			return nil // the subscriber that fell behind did not come back
		}
		last := s.Bus.Last()
		cuts := make([]Cut, 0, len(live))
		for _, sub := range live {
			sub.cut.Store(true)
			cuts = append(cuts, Cut{Peer: sub.peer, Sent: sub.sent.Load(), Last: last})
		}
		slices.SortFunc(cuts, func(a, b Cut) int { return int(a.Sent) - int(b.Sent) })
		return cuts
	}
}

// stream serves one subscriber from peer: Stream, with the subscriber
// known to Drain.
func (s *Server) stream(ctx context.Context, peer string, after uint32, historyOnly bool, filter event.Filter, form event.Form, send func(e *event.Encoded, more bool) error) error {
	t := s.track(peer, after > 0)
	defer t.Done()
	err := Stream(ctx, s.Bus, after, historyOnly, filter, s.queue(), form, func(e *event.Encoded, more bool) error {
		if e != nil {
			if err := t.Sent(e.Seq()); err != nil {
				return err
			}
		} else if t.sub.cut.Load() {
			return t.cutError()
		}
		return send(e, more)
	})
	if _, slow := SlowConsumerOf(err); slow && !t.sub.cut.Load() {
		s.subs.drop()
	}
	return err
}

// Tracked is a stream that a Service serves from its own subscription to
// the bus: Drain waits for it at the end of the run as for the
// EventService's subscribers, and cuts it when the bound passes.
type Tracked struct {
	s   *Server
	sub *subscriber
}

// Track registers a stream from peer, which counts as a connection for
// Connected. Call Sent before sending what each event of the bus became,
// and Done when the stream ends.
func (s *Server) Track(peer string) *Tracked {
	s.markConnected()
	return s.track(peer, false)
}

func (s *Server) track(peer string, resuming bool) *Tracked {
	return &Tracked{s: s, sub: s.subs.add(peer, resuming)}
}

// Sent records that the stream is about to send what the event of
// sequence seq became, or returns the status to end the stream with when
// Drain has cut it: RESOURCE_EXHAUSTED with the last sequence sent, as
// for a subscriber that fell behind. It is counted before the write, which
// may wait on a slow reader: a cut stream ends with this sequence once the
// write is done.
func (t *Tracked) Sent(seq uint32) error {
	if t.sub.cut.Load() {
		return t.cutError()
	}
	t.sub.sent.Store(seq)
	return nil
}

func (t *Tracked) cutError() error {
	return drainCutError(t.s.Bus.RunID(), t.sub.sent.Load())
}

// Done ends the stream for Drain.
func (t *Tracked) Done() { t.s.subs.remove(t.sub) }

// SubscriptionError is the status that ends a stream whose subscription
// to the bus failed with err, as the EventService's: RESOURCE_EXHAUSTED
// for a subscriber that fell behind, CANCELED or DEADLINE_EXCEEDED when
// ctx ended it, DATA_LOSS when its history could not be read.
func (s *Server) SubscriptionError(ctx context.Context, err error) error {
	return subscriptionError(ctx, s.Bus.RunID(), err)
}

// drainCutError ends a subscriber that the end of the run could not wait
// for: RESOURCE_EXHAUSTED with a SlowConsumer detail and a header naming
// the last sequence sent, the same status as a subscriber that fell behind,
// so that clients resume from it, from hoist's collector or its event log
// file.
func drainCutError(runID string, last uint32) error {
	return resumable(runID, last,
		fmt.Errorf("the run ended and this subscriber was not done within the drain timeout; resume with after_sequence %d", last))
}
