// Package store keeps a collector's events and runs in SQL: SQLite, the
// embedded default, or PostgreSQL, which several collectors can share.
// Both dialects run the same queries through database/sql; what differs
// (placeholders, locking, notifications) is in a dialect value.
package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	pb "github.com/hoist-dev/hoist/api/hoist/v1alpha2"
	"github.com/hoist-dev/hoist/internal/collector/timeline"
	"github.com/hoist-dev/hoist/internal/state"
	"github.com/hoist-dev/hoist/internal/wake"
)

// Record is one event to store: the envelope and its JSON exactly as the
// run's event log file has it.
type Record struct {
	Env  *pb.Envelope
	JSON []byte
}

// Outcome is what became of one appended record.
type Outcome struct {
	// Acked is the run's last stored sequence after the append: every
	// event up to it is durable.
	Acked uint32
	// Err is set when the record was refused; nothing of it was stored.
	Err error
}

// Event is a stored event.
type Event struct {
	Cursor   uint64
	RunID    string
	Sequence uint32
	JSON     []byte
}

// EventQuery selects stored events: one run's after a sequence, or all
// runs' (or one run's) after a cursor.
type EventQuery struct {
	RunID       string
	AfterSeq    uint32
	AfterCursor uint64
	// ByCursor orders by cursor, as the feed does; otherwise events come
	// in sequence order and RunID is required.
	ByCursor bool
	Limit    int
}

// RunQuery filters and pages runs, newest first.
type RunQuery struct {
	Statuses      []pb.Status
	Command       string
	Image         string
	StartedAfter  time.Time
	StartedBefore time.Time
	PageSize      int
	PageToken     string
}

// ErrNotFound is returned for a run the store does not hold.
var ErrNotFound = errors.New("no such run")

// GapError refuses an event that does not follow the run's last stored
// sequence: a pusher must send each run's events in order.
type GapError struct {
	RunID          string
	Stored, Pushed uint32
}

func (e *GapError) Error() string {
	return fmt.Sprintf("run %s: event %d does not follow the last stored event %d; push each run's events in order, resending from the last acknowledged sequence",
		e.RunID, e.Pushed, e.Stored)
}

// Store is a collector's database.
type Store struct {
	db      *sql.DB
	d       dialect
	changed wake.Signal
	closers []func() error
}

// dialect is what differs between SQLite and PostgreSQL.
type dialect interface {
	name() string
	// rebind turns ? placeholders into the dialect's.
	rebind(q string) string
	// beginIngest starts an ingest transaction that orders cursors as
	// commits: the one writer of SQLite, an advisory lock on PostgreSQL.
	beginIngest(ctx context.Context, tx *sql.Tx) error
	// notify tells other processes, at commit, that events were stored.
	notify(ctx context.Context, tx *sql.Tx) error
}

// Open opens the store at url: a postgres:// or postgresql:// URL, or a
// SQLite database (sqlite:// URL or a file path). It creates and migrates
// the schema.
func Open(ctx context.Context, url string) (*Store, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	case strings.Contains(url, "://") && !strings.HasPrefix(url, "sqlite://") && !strings.HasPrefix(url, "file://"):
		return nil, fmt.Errorf("store %q: use a postgres:// URL, a sqlite:// URL or a file path", url)
	}
	return openSQLite(ctx, url)
}

// Dialect names the store's database: sqlite or postgres.
func (s *Store) Dialect() string { return s.d.name() }

// Close closes the database.
func (s *Store) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	return errors.Join(append(errs, s.db.Close())...)
}

// Changed returns a channel closed at the next change: events stored by
// this process or, on PostgreSQL, by any collector sharing the database.
// Take it before reading, so that a change between the read and the wait
// is not missed.
func (s *Store) Changed() <-chan struct{} { return s.changed.Wait() }

// runRow is a run as an append changes it: its summary and its state.
type runRow struct {
	run   *pb.Run
	state *state.Tracker
	// fold is the run's timeline; nil for a run stored before timelines
	// were, until FoldStored folds it.
	fold *timeline.Fold
	// stored: this append stored events of the run; images: it stored
	// the run's metaEvent, which names them.
	stored, images bool
}

// Append stores records durably, in one transaction, and returns an
// outcome per record. An event already stored (by event_id and sequence)
// is skipped, so a resend is a no-op. Each run's events must come in
// sequence order.
func (s *Store) Append(ctx context.Context, recs []Record) ([]Outcome, error) {
	out := make([]Outcome, len(recs))
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	// Rolled back unless committed: after a failure (its error is
	// returned) or an append that stored nothing, there is nothing in it
	// to keep, and a rollback that fails cannot commit it.
	defer func() { _ = tx.Rollback() }()
	if err := s.d.beginIngest(ctx, tx); err != nil {
		return nil, err
	}
	runs := map[string]*runRow{}
	var rows []Record
	for i, rec := range recs {
		id, seq := rec.Env.EventId, rec.Env.GetEvent().GetSequence()
		row := runs[id]
		if row == nil {
			if row, err = s.loadRun(ctx, tx, id); err != nil {
				return nil, err
			}
			runs[id] = row
		}
		last := row.run.LastSequence
		switch {
		case seq <= last:
			out[i].Acked = last
			continue
		case seq != last+1:
			out[i] = Outcome{Acked: last, Err: &GapError{RunID: id, Stored: last, Pushed: seq}}
			continue
		}
		fold(row.run, rec.Env)
		row.state.Apply(rec.Env)
		if row.fold != nil {
			row.fold.Apply(rec.Env.Event)
		}
		row.stored = true
		row.images = row.images || rec.Env.Event.GetMetaEvent() != nil
		out[i].Acked = seq
		rows = append(rows, rec)
	}
	if err := s.insertEvents(ctx, tx, rows); err != nil {
		return nil, err
	}
	stored := len(rows) > 0
	if !stored {
		return out, nil
	}
	now := time.Now()
	for _, row := range runs {
		if !row.stored {
			continue
		}
		row.run.UpdatedTime = timestamppb.New(now)
		if err := s.saveRun(ctx, tx, row); err != nil {
			return nil, err
		}
	}
	if err := s.d.notify(ctx, tx); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	s.changed.Wake()
	return out, nil
}

// insertRows bounds the rows of one INSERT: few round trips, and well
// under SQLite's limit of bound parameters.
const insertRows = 256

// insertEvents inserts events with multi-row INSERTs: on PostgreSQL each
// statement is a round trip, so one per event would bound ingest by the
// network's latency.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, rows []Record) error {
	for len(rows) > 0 {
		n := min(len(rows), insertRows)
		var q strings.Builder
		q.WriteString(`INSERT INTO events (run_id, sequence, body) VALUES `)
		args := make([]any, 0, 3*n)
		for i, rec := range rows[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?)")
			args = append(args, rec.Env.EventId, int64(rec.Env.Event.Sequence), rec.JSON)
		}
		q.WriteString(` ON CONFLICT DO NOTHING`)
		if _, err := tx.ExecContext(ctx, s.d.rebind(q.String()), args...); err != nil {
			return fmt.Errorf("storing events of run %s: %w", rows[0].Env.EventId, err)
		}
		rows = rows[n:]
	}
	return nil
}

// fold updates a run's summary with one of its events.
func fold(r *pb.Run, env *pb.Envelope) {
	ev := env.GetEvent()
	r.LastSequence = ev.GetSequence()
	if r.StartTime == nil {
		r.StartTime = ev.GetTimestamp()
	}
	switch p := ev.GetPayload().(type) {
	case *pb.Event_MetaEvent:
		r.Command, r.Version, r.WorkingDir = p.MetaEvent.Command, p.MetaEvent.Version, p.MetaEvent.WorkingDir
		r.Images = p.MetaEvent.Artifacts
	case *pb.Event_TerminationEvent:
		r.Status, r.Error, r.EndTime = p.TerminationEvent.Status, p.TerminationEvent.Error, ev.GetTimestamp()
	}
}

// querier is a database or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readRun reads a run's summary and state; ErrNotFound when there is none.
func (s *Store) readRun(ctx context.Context, q querier, id string) (*pb.Run, *pb.State, error) {
	r, st, _, err := s.readRunFold(ctx, q, id, false)
	return r, st, err
}

// readRunFold reads a run's summary and state and, with fold, its
// timeline's fold (nil for a run not folded yet); ErrNotFound when there
// is no such run.
func (s *Store) readRunFold(ctx context.Context, q querier, id string, fold bool) (*pb.Run, *pb.State, *timeline.Fold, error) {
	var summary, st, tl []byte
	var err error
	if fold {
		err = q.QueryRowContext(ctx, s.d.rebind(`SELECT summary, state, timeline FROM runs WHERE id = ?`), id).Scan(&summary, &st, &tl)
	} else {
		err = q.QueryRowContext(ctx, s.d.rebind(`SELECT summary, state FROM runs WHERE id = ?`), id).Scan(&summary, &st)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil, ErrNotFound
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("reading run %s: %w", id, err)
	}
	r, state := &pb.Run{}, &pb.State{}
	if err := proto.Unmarshal(summary, r); err != nil {
		return nil, nil, nil, fmt.Errorf("run %s: stored summary: %w", id, err)
	}
	if err := proto.Unmarshal(st, state); err != nil {
		return nil, nil, nil, fmt.Errorf("run %s: stored state: %w", id, err)
	}
	var f *timeline.Fold
	if tl != nil {
		f = &timeline.Fold{}
		if err := json.Unmarshal(tl, f); err != nil {
			return nil, nil, nil, fmt.Errorf("run %s: stored timeline: %w", id, err)
		}
	}
	return r, state, f, nil
}

// loadRun reads a run for an append to go on from; a new run starts empty.
func (s *Store) loadRun(ctx context.Context, tx *sql.Tx, id string) (*runRow, error) {
	r, st, f, err := s.readRunFold(ctx, tx, id, true)
	if errors.Is(err, ErrNotFound) {
		return &runRow{run: &pb.Run{EventId: id, Status: pb.Status_IN_PROGRESS}, state: state.New(), fold: timeline.New()}, nil
	}
	if err != nil {
		return nil, err
	}
	return &runRow{run: r, state: state.From(st), fold: f}, nil
}

func (s *Store) saveRun(ctx context.Context, tx *sql.Tx, row *runRow) error {
	r := row.run
	summary, err := proto.Marshal(r)
	if err != nil {
		return err
	}
	stb, err := proto.Marshal(row.state.State())
	if err != nil {
		return err
	}
	// A run not folded yet keeps its NULL timeline for FoldStored.
	var tl any
	if row.fold != nil {
		if err := s.saveSpans(ctx, tx, r.EventId, row.fold); err != nil {
			return err
		}
		if tl, err = json.Marshal(row.fold); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, s.d.rebind(`
		INSERT INTO runs (id, command, status, start_time, updated_time, last_sequence, summary, state, timeline)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET command = excluded.command, status = excluded.status,
			start_time = excluded.start_time, updated_time = excluded.updated_time,
			last_sequence = excluded.last_sequence, summary = excluded.summary, state = excluded.state,
			timeline = excluded.timeline`),
		r.EventId, r.Command, int32(r.Status), micros(r.StartTime), micros(r.UpdatedTime), int64(r.LastSequence), summary, stb, tl)
	if err != nil {
		return fmt.Errorf("saving run %s: %w", r.EventId, err)
	}
	if !row.images {
		return nil
	}
	for _, img := range r.Images {
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO run_images (run_id, image) VALUES (?, ?) ON CONFLICT DO NOTHING`), r.EventId, img); err != nil {
			return fmt.Errorf("saving run %s: %w", r.EventId, err)
		}
	}
	return nil
}

func micros(ts *timestamppb.Timestamp) int64 {
	if ts == nil {
		return 0
	}
	return ts.AsTime().UnixMicro()
}

// Run returns one run, with its state.
func (s *Store) Run(ctx context.Context, id string) (*pb.Run, error) {
	r, st, err := s.readRun(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	r.State = st
	return r, nil
}

// MaxPageSize bounds a page of runs.
const MaxPageSize = 1000

// Runs returns a page of runs, newest first, and the token of the next
// page ("" on the last).
func (s *Store) Runs(ctx context.Context, q RunQuery) ([]*pb.Run, string, error) {
	size := q.PageSize
	if size <= 0 {
		size = 50
	}
	size = min(size, MaxPageSize)
	var where []string
	var args []any
	if len(q.Statuses) > 0 {
		marks := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			marks[i] = "?"
			args = append(args, int32(st))
		}
		where = append(where, "status IN ("+strings.Join(marks, ", ")+")")
	}
	if q.Command != "" {
		where = append(where, "command = ?")
		args = append(args, q.Command)
	}
	if q.Image != "" {
		where = append(where, "id IN (SELECT run_id FROM run_images WHERE image = ?)")
		args = append(args, q.Image)
	}
	if !q.StartedAfter.IsZero() {
		where = append(where, "start_time >= ?")
		args = append(args, q.StartedAfter.UnixMicro())
	}
	if !q.StartedBefore.IsZero() {
		where = append(where, "start_time < ?")
		args = append(args, q.StartedBefore.UnixMicro())
	}
	if q.PageToken != "" {
		start, id, err := decodePageToken(q.PageToken)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "(start_time < ? OR (start_time = ? AND id < ?))")
		args = append(args, start, start, id)
	}
	query := `SELECT id, start_time, summary FROM runs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY start_time DESC, id DESC LIMIT ?"
	args = append(args, size+1)
	rows, err := s.db.QueryContext(ctx, s.d.rebind(query), args...)
	if err != nil {
		return nil, "", err
	}
	// A read: Next closes the rows when they run out, and rows.Err says
	// how the read went. An early return (an error of its own, or a full
	// page) leaves Close only the connection to release.
	defer func() { _ = rows.Close() }()
	var runs []*pb.Run
	var next string
	for rows.Next() {
		var id string
		var start int64
		var summary []byte
		if err := rows.Scan(&id, &start, &summary); err != nil {
			return nil, "", err
		}
		if len(runs) == size {
			last := runs[len(runs)-1]
			next = encodePageToken(micros(last.StartTime), last.EventId)
			break
		}
		r := &pb.Run{}
		if err := proto.Unmarshal(summary, r); err != nil {
			return nil, "", err
		}
		runs = append(runs, r)
	}
	return runs, next, rows.Err()
}

// ErrBadPageToken refuses a page token this store did not hand out.
var ErrBadPageToken = errors.New("invalid page_token: pass the next_page_token of the previous page")

func encodePageToken(start int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(start, 10) + "/" + id))
}

func decodePageToken(tok string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, "", ErrBadPageToken
	}
	ts, id, ok := strings.Cut(string(b), "/")
	start, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || id == "" {
		return 0, "", ErrBadPageToken
	}
	return start, id, nil
}

// Events returns stored events as q selects, at most q.Limit (default 1000).
func (s *Store) Events(ctx context.Context, q EventQuery) ([]Event, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 1000
	}
	var query string
	var args []any
	switch {
	case q.ByCursor && q.RunID == "":
		query, args = `SELECT pos, run_id, sequence, body FROM events WHERE pos > ? ORDER BY pos LIMIT ?`, []any{int64(q.AfterCursor), limit}
	case q.ByCursor:
		query, args = `SELECT pos, run_id, sequence, body FROM events WHERE run_id = ? AND pos > ? ORDER BY pos LIMIT ?`, []any{q.RunID, int64(q.AfterCursor), limit}
	case q.RunID != "":
		query, args = `SELECT pos, run_id, sequence, body FROM events WHERE run_id = ? AND sequence > ? ORDER BY sequence LIMIT ?`, []any{q.RunID, int64(q.AfterSeq), limit}
	default:
		return nil, errors.New("events by sequence need a run")
	}
	rows, err := s.db.QueryContext(ctx, s.d.rebind(query), args...)
	if err != nil {
		return nil, err
	}
	// As in Runs: Close only releases the connection.
	defer func() { _ = rows.Close() }()
	var out []Event
	for rows.Next() {
		var e Event
		var pos, seq int64
		if err := rows.Scan(&pos, &e.RunID, &seq, &e.JSON); err != nil {
			return nil, err
		}
		e.Cursor, e.Sequence = uint64(pos), uint32(seq)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Prune deletes runs whose latest event is older than before (unless
// before is zero) and all but the newest keep runs (unless keep is 0),
// with their events. It returns how many runs it deleted.
func (s *Store) Prune(ctx context.Context, before time.Time, keep int) (int, error) {
	var ids []string
	collect := func(query string, args ...any) error {
		rows, err := s.db.QueryContext(ctx, s.d.rebind(query), args...)
		if err != nil {
			return err
		}
		// As in Runs: Close only releases the connection.
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	}
	if !before.IsZero() {
		if err := collect(`SELECT id FROM runs WHERE updated_time < ?`, before.UnixMicro()); err != nil {
			return 0, err
		}
	}
	if keep > 0 {
		if err := collect(`SELECT id FROM runs ORDER BY start_time DESC, id DESC LIMIT 9223372036854775807 OFFSET ?`, keep); err != nil {
			return 0, err
		}
	}
	seen := map[string]bool{}
	n := 0
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if err := s.deleteRun(ctx, id); err != nil {
			return n, err
		}
		n++
	}
	if n == 0 {
		return 0, nil
	}
	// The trends' series whose runs are all gone.
	_, err := s.db.ExecContext(ctx, `DELETE FROM trend_series WHERE NOT EXISTS (SELECT 1 FROM spans
		WHERE spans.working_dir = trend_series.working_dir AND spans.kind = trend_series.kind
			AND spans.name = trend_series.name AND spans.command = trend_series.command)`)
	if err != nil {
		return n, fmt.Errorf("deleting the trends of deleted runs: %w", err)
	}
	return n, nil
}

func (s *Store) deleteRun(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// Rolled back unless committed: after a failure, whose error is
	// returned, there is nothing in it to keep, and a rollback that fails
	// cannot commit it.
	defer func() { _ = tx.Rollback() }()
	for _, q := range []string{`DELETE FROM events WHERE run_id = ?`, `DELETE FROM run_images WHERE run_id = ?`, `DELETE FROM spans WHERE run_id = ?`, `DELETE FROM runs WHERE id = ?`} {
		if _, err := tx.ExecContext(ctx, s.d.rebind(q), id); err != nil {
			return fmt.Errorf("deleting run %s: %w", id, err)
		}
	}
	return tx.Commit()
}

// Permanent reports whether err is the database refusing the data itself,
// so that storing the same events again cannot succeed: a value it cannot
// hold, a constraint, a limit. Lost connections, locks, full disks and
// restarts are not: those pass.
func Permanent(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && len(pgErr.Code) == 5 {
		switch pgErr.Code[:2] {
		case "22", "23", "54": // data exception, integrity constraint, program limit
			return true
		}
		return false
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() & 0xff {
		case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE:
			return true
		}
	}
	return false
}
