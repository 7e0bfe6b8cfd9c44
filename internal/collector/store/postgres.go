package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// ingestLock is the advisory lock every ingest transaction holds, so that
// event cursors (a sequence) follow commit order across collectors.
const ingestLock = 0x686f697374 // "hoist"

// notifyChannel is where ingest transactions announce stored events.
const notifyChannel = "hoist_events"

type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

func (postgresDialect) rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (postgresDialect) beginIngest(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(ingestLock))
	return err
}

func (postgresDialect) notify(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, notifyChannel)
	return err
}

func openPostgres(ctx context.Context, u string) (*Store, error) {
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	s := &Store{db: db, d: postgresDialect{}}
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store: cannot reach PostgreSQL at %s:%d: %w", cfg.Host, cfg.Port, err), db.Close())
	}
	if err := migrate(ctx, db, s.d, fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", ingestLock+1)); err != nil {
		return nil, errors.Join(fmt.Errorf("store: %w", err), db.Close())
	}
	lctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.listen(lctx, cfg)
	}()
	s.closers = append(s.closers, func() error { cancel(); <-done; return nil })
	return s, nil
}

// listen wakes this process's subscribers when any collector sharing the
// database stores events. After a lost connection it wakes them too, so
// that they read what was stored meanwhile.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig) {
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+notifyChannel)
			for err == nil {
				s.changed.Wake()
				_, err = conn.WaitForNotification(ctx)
			}
			// The connection has failed, or ctx has ended it; closing
			// it only tells the server goodbye, and the loop reconnects
			// either way.
			_ = conn.Close(context.Background())
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
