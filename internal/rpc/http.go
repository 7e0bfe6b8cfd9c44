package rpc

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"connectrpc.com/connect"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/event"
)

// Plain HTTP paths, for curl and scripts: JSON lines, the same envelope as
// on stdout and in the event log file.
const (
	EventsPath = "/v1alpha2/events"
	StatePath  = "/v1alpha2/state"
)

// EventsQuery reads an Events request from URL query parameters: after,
// follow, type, image, status, level and run. Lists repeat or use commas.
func EventsQuery(r *http.Request) (*pb.EventsRequest, error) {
	q := r.URL.Query()
	list := func(k string) []string {
		var out []string
		for _, v := range q[k] {
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
		}
		return out
	}
	req := &pb.EventsRequest{RunId: q.Get("run"), Filter: &pb.EventFilter{Types: list("type"), Images: list("image"), MinLevel: q.Get("level")}}
	if a := q.Get("after"); a != "" {
		n, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("after=%q is not a sequence number", a)
		}
		req.AfterSequence = uint32(n)
	}
	follow, _ := strconv.ParseBool(q.Get("follow"))
	req.HistoryOnly = !follow
	statuses, err := ParseStatuses(list("status"))
	if err != nil {
		return nil, err
	}
	req.Filter.Statuses = statuses
	return req, nil
}

// ParseStatuses reads status query values (IN_PROGRESS, succeeded, ...),
// refusing any other, empty included, with what to give instead.
func ParseStatuses(values []string) ([]pb.Status, error) {
	out, err := event.ParseStatuses(values)
	if err != nil {
		return nil, fmt.Errorf("status=%w", err)
	}
	return out, nil
}

// WriteLines streams lines to an HTTP response as JSON lines: run calls
// send with each line, without its newline, and more set when further
// lines are at hand, so that the response is flushed only when caught up.
// It returns run's error.
func WriteLines(w http.ResponseWriter, run func(send func(line []byte, more bool) error) error) error {
	w.Header().Set("Content-Type", "application/x-ndjson")
	rc := http.NewResponseController(w)
	w.WriteHeader(http.StatusOK)
	rc.Flush()
	newline := []byte{'\n'}
	return run(func(line []byte, more bool) error {
		if _, err := w.Write(line); err != nil {
			return err
		}
		if _, err := w.Write(newline); err != nil {
			return err
		}
		if more {
			return nil
		}
		return rc.Flush()
	})
}

// WriteJSONLines streams events to an HTTP response as JSON lines,
// flushing whenever no further event is at hand. On a slow-consumer error
// it writes the Hoist-Last-Sequence trailer.
func WriteJSONLines(w http.ResponseWriter, r *http.Request, run func(send func(env *pb.Envelope, more bool) error) error) {
	w.Header().Set("Trailer", LastSequenceHeader)
	var buf []byte
	err := WriteLines(w, func(send func([]byte, bool) error) error {
		return run(func(env *pb.Envelope, more bool) error {
			var err error
			if buf, err = event.AppendJSON(buf[:0], env); err != nil {
				return err
			}
			return send(buf, more)
		})
	})
	var cerr *connect.Error
	if errors.As(err, &cerr) {
		if v := cerr.Meta().Get(LastSequenceHeader); v != "" {
			w.Header().Set(LastSequenceHeader, v)
		}
	}
}

// EventsQueryFilter is EventsQuery with its filter checked and converted.
func EventsQueryFilter(r *http.Request) (*pb.EventsRequest, event.Filter, error) {
	req, err := EventsQuery(r)
	if err != nil {
		return nil, event.Filter{}, err
	}
	filter, err := event.FilterFrom(req.Filter)
	return req, filter, err
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	req, filter, err := EventsQueryFilter(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.RunId != "" && req.RunId != s.Bus.RunID() {
		http.Error(w, "no such run", http.StatusNotFound)
		return
	}
	s.markConnected()
	WriteJSONLines(w, r, func(send func(*pb.Envelope, bool) error) error {
		return Stream(r.Context(), s.Bus, req.AfterSequence, req.HistoryOnly, filter, s.queue(), send)
	})
}

func (s *Server) serveState(w http.ResponseWriter, r *http.Request) {
	if id := r.URL.Query().Get("run"); id != "" && id != s.Bus.RunID() {
		http.Error(w, "no such run", http.StatusNotFound)
		return
	}
	data, err := jsonMarshal.Marshal(s.State.State())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(data, '\n'))
}
