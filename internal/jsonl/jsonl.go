// Package jsonl is the plain HTTP face of the Event API, for curl and
// scripts: events as JSON lines (one envelope a line, as on stdout and in
// the event log file), and the query parameters that select them. A
// running hoist (package rpc) and hoist collector serve it alike.
package jsonl

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"

	"connectrpc.com/connect"
)

// LastSequenceHeader carries, on a RESOURCE_EXHAUSTED error, the last
// sequence the subscriber was given: a header of the RPC, a trailer of a
// JSON lines response.
const LastSequenceHeader = "Hoist-Last-Sequence"

// Write streams lines to an HTTP response as JSON lines: run calls send
// with each line, without its newline, and more set when further lines are
// at hand, so that the response is flushed only when caught up; a nil line
// only flushes. It returns
// run's error, or the error that kept the response from starting.
func Write(w http.ResponseWriter, run func(send func(line []byte, more bool) error) error) error {
	w.Header().Set("Content-Type", "application/x-ndjson")
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	// The header goes out at once, so that a client waiting for the first
	// line knows the request was accepted.
	if err := rc.Flush(); err != nil {
		return fmt.Errorf("sending the response header: %w", err)
	}
	// Lines gather in a buffer larger than the response's own, so that
	// a subscriber that is behind gets them in few large writes (and, on
	// HTTP/1.1, few chunks).
	bw := bufio.NewWriterSize(w, 32<<10)
	err := run(func(line []byte, more bool) error {
		if line != nil {
			if _, err := bw.Write(line); err != nil {
				return err
			}
			if err := bw.WriteByte('\n'); err != nil {
				return err
			}
		}
		if more {
			return nil
		}
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	})
	if err != nil {
		return err
	}
	// run may end on a line it said more would follow (the last of a
	// full page that ends a run): what is buffered still goes out.
	if err := bw.Flush(); err != nil {
		return err
	}
	return rc.Flush()
}

// WriteResumable is Write for a stream of events that may be cut short
// and resumed: when run ends with an error that carries
// LastSequenceHeader (a subscriber that fell behind, or one cut by the
// drain at the end of a run), it is sent as a trailer, so that the client
// can resume after it.
func WriteResumable(w http.ResponseWriter, run func(send func(line []byte, more bool) error) error) {
	w.Header().Set("Trailer", LastSequenceHeader)
	err := Write(w, run)
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		if v := cerr.Meta().Get(LastSequenceHeader); v != "" {
			w.Header().Set(LastSequenceHeader, v)
		}
	}
}
