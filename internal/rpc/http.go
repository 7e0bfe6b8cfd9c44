package rpc

import (
	"net/http"

	"github.com/hoist-dev/hoist/internal/event"
	"github.com/hoist-dev/hoist/internal/jsonl"
)

// Plain HTTP paths, for curl and scripts: JSON lines, the same envelope as
// on stdout and in the event log file.
const (
	EventsPath = "/v1alpha2/events"
	StatePath  = "/v1alpha2/state"
)

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	req, err := jsonl.EventsRequest(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	filter, err := event.FilterFrom(req.Filter)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if req.RunId != "" && req.RunId != s.Bus.RunID() {
		http.Error(w, "no such run", http.StatusNotFound)
		return
	}
	s.markConnected()
	jsonl.WriteResumable(w, func(send func([]byte, bool) error) error {
		return s.stream(r.Context(), r.RemoteAddr, req.AfterSequence, req.HistoryOnly, filter, event.FormJSON, func(e *event.Encoded, more bool) error {
			if e == nil {
				return send(nil, more)
			}
			line, err := e.JSON()
			if err != nil {
				return err
			}
			return send(line, more)
		})
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
	// The status is sent with the first write; should the client have
	// gone, there is no one left to tell.
	_, _ = w.Write(append(data, '\n'))
}
