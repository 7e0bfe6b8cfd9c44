package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/timeline"
	"github.com/hoist-dev/hoist/internal/event"
)

// readFold reads a run's saved timeline fold: nil when the run was stored
// before timelines were kept and has not been folded since.
func (s *Store) readFold(ctx context.Context, q querier, id string) (*timeline.Fold, error) {
	var data []byte
	err := q.QueryRowContext(ctx, s.d.rebind(`SELECT timeline FROM runs WHERE id = ?`), id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading the timeline of run %s: %w", id, err)
	}
	if data == nil {
		return nil, nil
	}
	f := &timeline.Fold{}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("run %s: stored timeline: %w", id, err)
	}
	return f, nil
}

// spanRows bounds the rows of one INSERT of spans, as insertRows does
// for events.
const spanRows = 64

// saveSpans stores the spans the fold started or changed since it was
// last saved.
func (s *Store) saveSpans(ctx context.Context, tx *sql.Tx, runID string, f *timeline.Fold) error {
	spans := f.Changed()
	var ended []timeline.Span
	for _, sp := range spans {
		if !sp.Open() && slices.Contains(TrendKinds, sp.Kind) {
			ended = append(ended, sp)
		}
	}
	for len(spans) > 0 {
		n := min(len(spans), spanRows)
		var q strings.Builder
		q.WriteString(`INSERT INTO spans (run_id, id, parent, kind, name, detail, start_us, end_us, status, from_seq, to_seq, working_dir, command) VALUES `)
		args := make([]any, 0, 13*n)
		for i, sp := range spans[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			var end int64
			if !sp.Open() {
				end = sp.End.UnixMicro()
			}
			args = append(args, runID, sp.ID, sp.Parent, string(sp.Kind), sp.Name, sp.Detail, sp.Start.UnixMicro(), end,
				int32(sp.Status), int64(sp.From), int64(sp.To), f.WorkingDir, f.Command)
		}
		q.WriteString(` ON CONFLICT (run_id, id) DO UPDATE SET detail = excluded.detail, start_us = excluded.start_us,
			end_us = excluded.end_us, status = excluded.status, to_seq = excluded.to_seq`)
		if _, err := tx.ExecContext(ctx, s.d.rebind(q.String()), args...); err != nil {
			return fmt.Errorf("storing the timeline of run %s: %w", runID, err)
		}
		spans = spans[n:]
	}
	return s.saveSeries(ctx, tx, f, ended)
}

// saveSeries records that the run has points in the trends' series of
// the ended spans: each kind and name once, with its latest start.
func (s *Store) saveSeries(ctx context.Context, tx *sql.Tx, f *timeline.Fold, ended []timeline.Span) error {
	latest := map[[2]string]int64{}
	var keys [][2]string
	for _, sp := range ended {
		k := [2]string{string(sp.Kind), sp.Name}
		if _, ok := latest[k]; !ok {
			keys = append(keys, k)
		}
		latest[k] = max(latest[k], sp.Start.UnixMicro())
	}
	if len(keys) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO trend_series (kind, name, working_dir, command, last_start_us) VALUES `)
	var args []any
	for i, k := range keys {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?)")
		args = append(args, k[0], k[1], f.WorkingDir, f.Command, latest[k])
	}
	q.WriteString(` ON CONFLICT (kind, name, working_dir, command) DO UPDATE SET last_start_us =
		CASE WHEN excluded.last_start_us > trend_series.last_start_us THEN excluded.last_start_us ELSE trend_series.last_start_us END`)
	if _, err := tx.ExecContext(ctx, s.d.rebind(q.String()), args...); err != nil {
		return fmt.Errorf("storing the trends' series: %w", err)
	}
	return nil
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// Timeline returns the spans of a run's timeline that started or changed
// after its event afterSeq (0 for all of them), in the order they
// started. A run stored before timelines were kept is folded from its
// stored events first.
func (s *Store) Timeline(ctx context.Context, id string, afterSeq uint32) ([]timeline.Span, error) {
	f, err := s.readFold(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if f == nil {
		if err := s.foldRun(ctx, id); err != nil {
			return nil, err
		}
	}
	rows, err := s.db.QueryContext(ctx, s.d.rebind(`
		SELECT id, parent, kind, name, detail, start_us, end_us, status, from_seq, to_seq
		FROM spans WHERE run_id = ? AND to_seq > ? ORDER BY id`), id, int64(afterSeq))
	if err != nil {
		return nil, fmt.Errorf("reading the timeline of run %s: %w", id, err)
	}
	// A read: Close only releases the connection, as in Runs.
	defer func() { _ = rows.Close() }()
	var out []timeline.Span
	for rows.Next() {
		var sp timeline.Span
		var kind string
		var start, end, from, to int64
		var status int32
		if err := rows.Scan(&sp.ID, &sp.Parent, &kind, &sp.Name, &sp.Detail, &start, &end, &status, &from, &to); err != nil {
			return nil, err
		}
		sp.Kind, sp.Start, sp.End, sp.Status = timeline.Kind(kind), fromMicros(start), fromMicros(end), pb.Status(status)
		sp.From, sp.To = uint32(from), uint32(to)
		out = append(out, sp)
	}
	return out, rows.Err()
}

// FoldStored folds the timelines of the runs stored before timelines were
// kept, from their stored events, and returns how many it folded. The
// collector runs it in the background once it has started.
func (s *Store) FoldStored(ctx context.Context) (int, error) {
	n := 0
	for {
		var ids []string
		rows, err := s.db.QueryContext(ctx, `SELECT id FROM runs WHERE timeline IS NULL LIMIT 100`)
		if err != nil {
			return n, err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return n, errors.Join(err, rows.Close())
			}
			ids = append(ids, id)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return n, err
		}
		if len(ids) == 0 {
			return n, nil
		}
		for _, id := range ids {
			if err := s.foldRun(ctx, id); err != nil {
				return n, err
			}
			n++
		}
	}
}

// foldRun folds one run's stored events into its timeline, under the
// ingest lock, so that no append of the run comes between.
func (s *Store) foldRun(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// Rolled back unless committed: after a failure, whose error is
	// returned, or for a run folded meanwhile, there is nothing to keep.
	defer func() { _ = tx.Rollback() }()
	if err := s.d.beginIngest(ctx, tx); err != nil {
		return err
	}
	if f, err := s.readFold(ctx, tx, id); err != nil || f != nil {
		return err
	}
	f := timeline.New()
	var after int64
	for {
		rows, err := tx.QueryContext(ctx, s.d.rebind(`SELECT sequence, body FROM events WHERE run_id = ? AND sequence > ? ORDER BY sequence LIMIT 1000`), id, after)
		if err != nil {
			return fmt.Errorf("folding the timeline of run %s: %w", id, err)
		}
		read := 0
		for rows.Next() {
			var body []byte
			if err := rows.Scan(&after, &body); err != nil {
				return errors.Join(err, rows.Close())
			}
			env, err := event.UnmarshalJSON(body)
			if err != nil {
				return errors.Join(fmt.Errorf("folding the timeline of run %s: stored event %d: %w", id, after, err), rows.Close())
			}
			f.Apply(env.Event)
			read++
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return fmt.Errorf("folding the timeline of run %s: %w", id, err)
		}
		if read < 1000 {
			break
		}
	}
	if err := s.saveSpans(ctx, tx, id, f); err != nil {
		return err
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE runs SET timeline = ? WHERE id = ?`), data, id); err != nil {
		return fmt.Errorf("saving the timeline of run %s: %w", id, err)
	}
	if err := s.d.notify(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.changed.Wake()
	return nil
}
