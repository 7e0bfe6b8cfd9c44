package query

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hoist-dev/hoist/internal/collector/store"
	"github.com/hoist-dev/hoist/internal/collector/timeline"
	"github.com/hoist-dev/hoist/internal/jsonl"
)

// TrendsPath serves the trends across runs.
const TrendsPath = "/v1alpha2/trends"

// timelinePage is one answer of a run's timeline: the run's summary, the
// spans that changed after the sequence the page before ended at, and
// the sequence this one ends at.
type timelinePage struct {
	Run          json.RawMessage `json:"run"`
	Spans        []timeline.Span `json:"spans"`
	LastSequence uint32          `json:"lastSequence"`
}

// timelineAfter reads the run's summary, then its spans changed after
// sequence after. Every span of an event the summary counts is stored
// with it, so that reading the spans second gives them all.
func (s *Service) timelineAfter(ctx context.Context, id string, after uint32) (*timelinePage, bool, error) {
	r, err := s.st.Run(ctx, id)
	if err != nil {
		return nil, false, errCode(ctx, fmt.Errorf("run %s: %w", id, err))
	}
	r.State = nil
	run, err := protojson.Marshal(r)
	if err != nil {
		return nil, false, err
	}
	spans, err := s.st.Timeline(ctx, id, after)
	if err != nil {
		return nil, false, errCode(ctx, fmt.Errorf("run %s: %w", id, err))
	}
	if spans == nil {
		spans = []timeline.Span{}
	}
	return &timelinePage{Run: run, Spans: spans, LastSequence: r.LastSequence}, r.EndTime != nil, nil
}

// serveTimeline answers GET /v1alpha2/runs/{id}/timeline with the run's
// timeline. With watch=true it streams JSON lines: the whole timeline,
// then, whenever the run changes (at most every watchInterval), the
// spans that changed, until the run ends.
func (s *Service) serveTimeline(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	watch, _ := strconv.ParseBool(r.URL.Query().Get("watch"))
	if !watch {
		page, _, err := s.timelineAfter(r.Context(), id, 0)
		if err != nil {
			httpError(w, err)
			return
		}
		writeJSON(w, page)
		return
	}
	// A run that is not there is told as a status, before the lines start.
	if _, err := s.st.Run(r.Context(), id); err != nil {
		httpError(w, errCode(r.Context(), fmt.Errorf("run %s: %w", id, err)))
		return
	}
	err := jsonl.Write(w, func(send func([]byte, bool) error) error {
		var after uint32
		first := true
		for {
			changed := s.st.Changed()
			page, ended, err := s.timelineAfter(r.Context(), id, after)
			if err != nil {
				return err
			}
			if first || page.LastSequence != after {
				data, err := json.Marshal(page)
				if err != nil {
					return err
				}
				if err := send(data, false); err != nil {
					return err
				}
			}
			first, after = false, page.LastSequence
			if ended {
				return nil
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

// trendsQuery reads a trends query from dir, command and points.
func trendsQuery(r *http.Request) (store.TrendQuery, error) {
	q := r.URL.Query()
	tq := store.TrendQuery{WorkingDir: q.Get("dir"), Command: q.Get("command")}
	if v := q.Get("points"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxTrendPoints {
			return tq, fmt.Errorf("points=%q: give how many of each series' newest points to show, from 1 to %d", v, store.MaxTrendPoints)
		}
		tq.Points = n
	}
	return tq, nil
}

// serveTrends answers GET /v1alpha2/trends?dir=&command=&points= with the
// durations and results of each image's builds, each deployer's deploys
// and each resource's status checks over the newest runs.
func (s *Service) serveTrends(w http.ResponseWriter, r *http.Request) {
	q, err := trendsQuery(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	tr, err := s.st.Trends(r.Context(), q)
	if err != nil {
		httpError(w, errCode(r.Context(), err))
		return
	}
	writeJSON(w, tr)
}

func writeJSON(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// As in writeProto: should the client have gone, there is no one
	// left to tell.
	_, _ = w.Write(append(data, '\n'))
}
