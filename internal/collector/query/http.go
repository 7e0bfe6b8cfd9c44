package query

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/jsonl"
	"github.com/hoist-dev/hoist/internal/rpc"
)

// Plain HTTP paths of the collector, beside the Event API's own.
const (
	RunsPath = "/v1alpha2/runs"
	FeedPath = "/v1alpha2/feed"
)

// watchInterval spaces the pages a runs watch sends.
const watchInterval = 250 * time.Millisecond

// Route serves the plain HTTP API on mux, each endpoint wrapped in guard,
// the collector's token check.
func (s *Service) Route(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	mux.Handle("GET "+RunsPath, guard(http.HandlerFunc(s.serveRuns)))
	mux.Handle("GET "+RunsPath+"/{id}", guard(http.HandlerFunc(s.serveRun)))
	mux.Handle("GET "+RunsPath+"/{id}/timeline", guard(http.HandlerFunc(s.serveTimeline)))
	mux.Handle("GET "+TrendsPath, guard(http.HandlerFunc(s.serveTrends)))
	mux.Handle("GET "+rpc.StatePath, guard(http.HandlerFunc(s.serveState)))
	mux.Handle("GET "+rpc.EventsPath, guard(http.HandlerFunc(s.serveEvents)))
	mux.Handle("GET "+FeedPath, guard(http.HandlerFunc(s.serveFeed)))
}

func writeProto(w http.ResponseWriter, m proto.Message) {
	data, err := protojson.Marshal(m)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// The status is sent with the first write; should the client have
	// gone, there is no one left to tell.
	_, _ = w.Write(append(data, '\n'))
}

// httpError answers with the HTTP status of a connect error's code.
func httpError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch connect.CodeOf(err) {
	case connect.CodeNotFound:
		status = http.StatusNotFound
	case connect.CodeInvalidArgument:
		status = http.StatusBadRequest
	case connect.CodeDeadlineExceeded:
		status = http.StatusGatewayTimeout
	case connect.CodeCanceled:
		return
	}
	var cerr *connect.Error
	msg := err.Error()
	if errors.As(err, &cerr) {
		msg = cerr.Message()
	}
	http.Error(w, msg, status)
}

// runsRequest reads ListRuns from query parameters: status (repeated or
// comma separated), command, image, since and until (RFC 3339 times, or
// durations back from now such as 24h), limit and page_token.
func runsRequest(r *http.Request) (*pb.ListRunsRequest, error) {
	q := r.URL.Query()
	m := &pb.ListRunsRequest{Command: q.Get("command"), Image: q.Get("image"), PageToken: q.Get("page_token")}
	var statuses []string
	for _, v := range q["status"] {
		statuses = append(statuses, strings.Split(v, ",")...)
	}
	var err error
	if m.Statuses, err = jsonl.ParseStatuses(statuses); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		key string
		set func(time.Time)
	}{
		{"since", func(t time.Time) { m.StartedAfter = timestamppb.New(t) }},
		{"until", func(t time.Time) { m.StartedBefore = timestamppb.New(t) }},
	} {
		v := q.Get(p.key)
		if v == "" {
			continue
		}
		t, err := parseTime(v)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: give an RFC 3339 time (2026-01-02T15:04:05Z) or a duration back from now (24h)", p.key, v)
		}
		p.set(t)
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("limit=%q: give a number of runs from 1 to %d", v, store.MaxPageSize)
		}
		m.PageSize = int32(min(n, store.MaxPageSize))
	}
	return m, nil
}

func parseTime(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	return time.Parse(time.RFC3339Nano, v)
}

func (s *Service) serveRuns(w http.ResponseWriter, r *http.Request) {
	m, err := runsRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	page := func() (*pb.ListRunsResponse, error) {
		resp, err := s.ListRuns(r.Context(), connect.NewRequest(m))
		if err != nil {
			return nil, err
		}
		return resp.Msg, nil
	}
	if watch, _ := strconv.ParseBool(r.URL.Query().Get("watch")); !watch {
		resp, err := page()
		if err != nil {
			httpError(w, err)
			return
		}
		writeProto(w, resp)
		return
	}
	// A watch sends the page as JSON lines: now, then again whenever runs
	// change, at most every watchInterval, until the client leaves.
	err = jsonl.Write(w, func(send func([]byte, bool) error) error {
		var last []byte
		for {
			changed := s.st.Changed()
			resp, err := page()
			if err != nil {
				return err
			}
			data, err := protojson.Marshal(resp)
			if err != nil {
				return err
			}
			if !bytes.Equal(data, last) {
				if err := send(data, false); err != nil {
					return err
				}
				last = data
			}
			select {
			case <-changed:
			case <-r.Context().Done():
				return r.Context().Err()
			}
			select {
			case <-time.After(watchInterval):
			case <-r.Context().Done():
				return r.Context().Err()
			}
		}
	})
	s.linesEnded(r, err)
}

func (s *Service) serveRun(w http.ResponseWriter, r *http.Request) {
	resp, err := s.GetRun(r.Context(), connect.NewRequest(&pb.GetRunRequest{EventId: r.PathValue("id")}))
	if err != nil {
		httpError(w, err)
		return
	}
	writeProto(w, resp.Msg)
}

func (s *Service) serveState(w http.ResponseWriter, r *http.Request) {
	resp, err := s.GetState(r.Context(), connect.NewRequest(&pb.GetStateRequest{RunId: r.URL.Query().Get("run")}))
	if err != nil {
		httpError(w, err)
		return
	}
	writeProto(w, resp.Msg)
}

// serveEvents answers GET /v1alpha2/events as a running hoist does, with
// run= selecting one run; without it, every run's events as stored.
func (s *Service) serveEvents(w http.ResponseWriter, r *http.Request) {
	req, err := jsonl.EventsRequest(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q, filter, err := s.eventsQuery(r.Context(), req)
	if err != nil {
		httpError(w, err)
		return
	}
	s.writeLines(w, r, q, !req.HistoryOnly, filter, func(buf []byte, e store.Event) []byte {
		return append(buf, e.JSON...)
	})
}

// serveFeed answers GET /v1alpha2/feed: FeedItems as JSON lines, after=
// a cursor, run= for one run, follow=true to go on live.
func (s *Service) serveFeed(w http.ResponseWriter, r *http.Request) {
	req, err := jsonl.FeedRequest(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q, filter, err := feedQuery(req)
	if err != nil {
		httpError(w, err)
		return
	}
	s.writeLines(w, r, q, !req.HistoryOnly, filter, func(buf []byte, e store.Event) []byte {
		// FeedItem as protojson writes it, with the stored envelope.
		buf = append(buf, `{"cursor":"`...)
		buf = strconv.AppendUint(buf, e.Cursor, 10)
		buf = append(buf, `","envelope":`...)
		buf = append(buf, e.JSON...)
		return append(buf, '}')
	})
}

// writeLines streams stored events as JSON lines, each made by line.
// Unfiltered, they are not decoded: the stored bytes go out as they are.
func (s *Service) writeLines(w http.ResponseWriter, r *http.Request, q store.EventQuery, follow bool, filter event.Filter, line func([]byte, store.Event) []byte) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	var buf []byte
	err := jsonl.Write(w, func(send func([]byte, bool) error) error {
		write := func(e store.Event, more bool) error {
			buf = line(buf[:0], e)
			return send(buf, more)
		}
		if filter.All() {
			return s.tail(r.Context(), q, follow, write)
		}
		return s.envelopes(r.Context(), q, follow, filter, func(e store.Event, _ *pb.Envelope, more bool) error { return write(e, more) })
	})
	s.linesEnded(r, err)
}

// linesEnded logs why a JSON lines response to r ended with err. Its 200
// is sent, so the client learns no more than that the lines stopped. A
// client that left is routine; anything else (a store failure, an event
// that no longer decodes) is the operator's to know.
func (s *Service) linesEnded(r *http.Request, err error) {
	switch {
	case err == nil:
	case r.Context().Err() != nil:
		s.log.Debug("JSON lines client left", "path", r.URL.Path, "err", err)
	default:
		s.log.Error("JSON lines response cut short", "path", r.URL.Path, "query", r.URL.RawQuery, "err", err)
	}
}
