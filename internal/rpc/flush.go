package rpc

import (
	"bufio"
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/hoist-dev/hoist/internal/event"
)

// maxFlushDelay bounds how long an event sent on a stream may wait in the
// response's buffer because more events were queued behind it.
const maxFlushDelay = 5 * time.Millisecond

// flushGate is the http.ResponseWriter of an EventService call. connect
// flushes the response after every message; flushGate passes that on to
// the connection only when the stream has caught up, that is when the
// sender said no further event is at hand, and the last flush is
// event.WriteEvery old, or when the last flush is maxFlushDelay old. A
// subscriber reading a backlog so receives full frames, written to the
// socket a few at a time, and one following a build that prints lines
// one by one receives them a few hundred a flush, instead of one frame
// and one write per event. A flush held back is made by a timer once its
// bound has passed, should nothing follow the event (because the run is
// quiet, or the next events are filtered out).
//
// Writes gather in a buffer larger than the response's own: connect
// writes each message in two (its prefix, then its bytes), and handing
// each to the server's response costs more than the copy.
//
// The handler's goroutine writes and flushes; the timer's flush takes the
// same lock, and none comes after the handler has returned.
type flushGate struct {
	http.ResponseWriter
	flusher http.Flusher
	bw      *bufio.Writer

	mu    sync.Mutex
	more  bool // set by the sender before each message
	held  bool // a flush was held back since the last one made
	done  bool // the handler has returned
	last  time.Time
	timer *time.Timer
}

type flushGateKey struct{}

// gateFlushes installs a flushGate for each request to next, reachable
// from the request's context with flushGateFrom.
func gateFlushes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		g := &flushGate{ResponseWriter: w, flusher: f, bw: bufio.NewWriterSize(w, 32<<10)}
		defer g.close()
		next.ServeHTTP(g, r.WithContext(context.WithValue(r.Context(), flushGateKey{}, g)))
	})
}

// GateFlushes is gateFlushes for another server of the EventService,
// whose Events tells the gate with HoldFlush whether more events are at
// hand.
func GateFlushes(next http.Handler) http.Handler { return gateFlushes(next) }

// HoldFlush says, for the EventService call of ctx served behind
// GateFlushes, whether further events are at hand behind the message
// about to be sent, so that its flush can wait for them. Without a gate
// it does nothing.
func HoldFlush(ctx context.Context, more bool) { flushGateFrom(ctx).hold(more) }

// flushGateFrom returns the flushGate of a request's context, or nil.
func flushGateFrom(ctx context.Context) *flushGate {
	g, _ := ctx.Value(flushGateKey{}).(*flushGate)
	return g
}

// hold says whether further events are at hand behind the message about
// to be sent, so that its flush can wait for them. A nil gate ignores it.
func (g *flushGate) hold(more bool) {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.more = more
	g.mu.Unlock()
}

func (g *flushGate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bw.Write(p)
}

func (g *flushGate) WriteHeader(code int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ResponseWriter.WriteHeader(code)
}

// Flush flushes unless the last flush is recent: maxFlushDelay old while
// more events are at hand, event.WriteEvery old once caught up. Then it
// makes sure the timer flushes should nothing follow.
func (g *flushGate) Flush() {
	g.mu.Lock()
	defer g.mu.Unlock()
	bound := event.WriteEvery
	if g.more {
		bound = maxFlushDelay
	}
	if wait := bound - time.Since(g.last); wait > 0 {
		if !g.held {
			g.held = true
			if g.timer == nil {
				g.timer = time.AfterFunc(wait, g.timed)
			} else {
				g.timer.Reset(wait)
			}
		}
		return
	}
	g.flush()
}

// timed is the flush of a held-back flush whose bound has passed.
func (g *flushGate) timed() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held && !g.done {
		g.flush()
	}
}

// flush flushes the response. g.mu is held. A write that fails here
// fails the handler's next write too, which reports it.
func (g *flushGate) flush() {
	_ = g.bw.Flush()
	g.flusher.Flush()
	g.last = time.Now()
	g.held = false
}

// close ends the gate when the handler returns: what is buffered goes to
// the server, which sends it with the rest of the response, and the timer
// may no longer touch it.
func (g *flushGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	// The handler is done: there is no one left to tell of a failure.
	_ = g.bw.Flush()
	g.done = true
	if g.timer != nil {
		g.timer.Stop()
	}
}

// Unwrap gives http.ResponseController the server's ResponseWriter.
func (g *flushGate) Unwrap() http.ResponseWriter { return g.ResponseWriter }
