package rpc

import (
	"bufio"
	"context"
	"net/http"
	"time"

	"github.com/hoist-dev/hoist/internal/event"
)

// maxFlushDelay bounds how long an event sent on a stream may wait in the
// response's buffer because more events were queued behind it.
const maxFlushDelay = 5 * time.Millisecond

// flushGate is the http.ResponseWriter of an EventService call, and of a
// JSON lines stream of EventsPath. connect flushes the response after
// every message, and jsonl.Write whenever it has caught up; flushGate
// passes that on to the connection only when the stream has caught up,
// that is when the sender said no further event is at hand, and the last
// flush is event.WriteEvery old, or when the last flush is maxFlushDelay
// old. A subscriber reading a backlog so receives full frames, written to
// the socket a few at a time, and one following a build that prints
// lines one by one receives them a few hundred a flush, instead of one
// frame and one write per event. A flush held back is made by a timer
// once its bound has passed, should nothing follow the event (because the
// run is quiet, or the next events are filtered out).
//
// Writes gather in a buffer larger than the response's own: connect
// writes each message in two (its prefix, then its bytes), and handing
// each to the server's response costs more than the copy.
//
// The handler's goroutine writes and flushes; the pacer's flush takes the
// same lock (the pacer's), and none comes after the handler has returned.
type flushGate struct {
	http.ResponseWriter
	flusher http.Flusher
	bw      *bufio.Writer

	pace *event.Pacer // its lock guards the rest, and the response
	more bool         // set by the sender before each message
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
		g.pace = event.NewPacer(g.flush)
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
	g.pace.Lock()
	g.more = more
	g.pace.Unlock()
}

func (g *flushGate) Write(p []byte) (int, error) {
	g.pace.Lock()
	defer g.pace.Unlock()
	return g.bw.Write(p)
}

func (g *flushGate) WriteHeader(code int) {
	g.pace.Lock()
	defer g.pace.Unlock()
	g.ResponseWriter.WriteHeader(code)
}

// frame writes a message, its prefix and its bytes, and flushes it as
// Flush does, the sender having said whether more events are at hand:
// all of it under one lock, for a stream that writes its frames itself
// (see grpcEvents).
func (g *flushGate) frame(prefix, data []byte, more bool) error {
	g.pace.Lock()
	defer g.pace.Unlock()
	g.more = more
	if _, err := g.bw.Write(prefix); err != nil {
		return err
	}
	if _, err := g.bw.Write(data); err != nil {
		return err
	}
	g.flushIfDue()
	return nil
}

// Flush flushes unless the last flush is recent: maxFlushDelay old while
// more events are at hand, event.WriteEvery old once caught up. Then the
// pacer flushes once that bound has passed, should nothing follow.
func (g *flushGate) Flush() {
	g.pace.Lock()
	defer g.pace.Unlock()
	g.flushIfDue()
}

// flushIfDue is Flush, under the pacer's lock.
func (g *flushGate) flushIfDue() {
	bound := event.WriteEvery
	if g.more {
		bound = maxFlushDelay
	}
	if g.pace.Due(bound) {
		g.flush()
		g.pace.Wrote()
	}
}

// flush flushes the response, under the pacer's lock. A write that fails
// here fails the handler's next write too, which reports it.
func (g *flushGate) flush() {
	_ = g.bw.Flush()
	g.flusher.Flush()
}

// close ends the gate when the handler returns: what is buffered goes to
// the server, which sends it with the rest of the response, and the timer
// may no longer touch it.
func (g *flushGate) close() {
	g.pace.Lock()
	defer g.pace.Unlock()
	// The handler is done: there is no one left to tell of a failure.
	_ = g.bw.Flush()
	g.pace.Stop()
}

// Unwrap gives http.ResponseController the server's ResponseWriter.
func (g *flushGate) Unwrap() http.ResponseWriter { return g.ResponseWriter }
