package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	// modernc.org/sqlite is SQLite compiled to pure Go: hoist stays one
	// static binary without cgo, cross-compiles like the rest, and needs
	// no C toolchain or libsqlite3 on the machine. It is slower than the
	// cgo driver per statement, which batched transactions make up for.
	_ "modernc.org/sqlite"
)

type sqliteDialect struct{}

func (sqliteDialect) name() string                               { return "sqlite" }
func (sqliteDialect) rebind(q string) string                     { return q }
func (sqliteDialect) beginIngest(context.Context, *sql.Tx) error { return nil }
func (sqliteDialect) notify(context.Context, *sql.Tx) error      { return nil }

// SQLitePath returns the file a sqlite:// URL or a plain path names.
func SQLitePath(u string) string {
	for _, p := range []string{"sqlite://", "file://"} {
		if strings.HasPrefix(u, p) {
			u = strings.TrimPrefix(u, p)
			break
		}
	}
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u = u[:i]
	}
	return u
}

func openSQLite(ctx context.Context, u string) (*Store, error) {
	path := SQLitePath(u)
	if path == "" {
		return nil, errors.New("store: the SQLite URL names no file; use sqlite:///path/to/collector.db")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// One collector per file: live subscribers are woken in-process.
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, errors.Join(
			fmt.Errorf("store %s is in use by another collector; give this one its own --store, or share a PostgreSQL database between collectors", path),
			lock.Close())
	}
	// WAL lets the dashboard read while events are written; synchronous
	// FULL makes a commit durable before the events in it are
	// acknowledged; the immediate transactions take the write lock up
	// front, so that cursor order is commit order.
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("store %s: %w", path, err), lock.Close())
	}
	s := &Store{db: db, d: sqliteDialect{}, closers: []func() error{lock.Close}}
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("store %s: %w", path, err), s.Close())
	}
	if err := migrate(ctx, db, s.d, ""); err != nil {
		return nil, errors.Join(fmt.Errorf("store %s: %w", path, err), s.Close())
	}
	return s, nil
}
