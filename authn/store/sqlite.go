package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/leaf/backend"
	"github.com/riskauth/riskauth/internal/leaf/privfile"
	"modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite is the embedded store: one database file used by one process.
// Writes are funnelled through a single connection, reads use a pool (see
// the package documentation for why). Safe for concurrent use.
type SQLite struct {
	write *cachedDB
	read  *cachedDB
}

// Interface guards: the SQLite store serves every authn store interface.
var (
	_ authn.UserStore         = (*SQLite)(nil)
	_ authn.TOTPStore         = (*SQLite)(nil)
	_ authn.RecoveryCodeStore = (*SQLite)(nil)
	_ authn.SessionStore      = (*SQLite)(nil)
	_ authn.SessionManager    = (*SQLite)(nil)
	_ authn.Sweeper           = (*SQLite)(nil)
	_ authn.TokenStore        = (*SQLite)(nil)
	_ authn.FlowStore         = (*SQLite)(nil)
	_ authn.AttemptStore      = (*SQLite)(nil)
	_ authn.EventCounter      = (*SQLite)(nil)
	_ authn.FlowClientStore   = (*SQLite)(nil)
)

// SQLiteOptions tunes OpenSQLite; the zero value is a sensible default.
type SQLiteOptions struct {
	// BusyTimeout is how long a connection waits for a lock held by another
	// process (or a checkpoint) before failing; default 5s. Within one
	// process writers queue on the write connection and never hit it.
	BusyTimeout time.Duration
	// ReadConns bounds the read pool; default max(4, GOMAXPROCS). A read
	// that cannot get a connection within its deadline fails with
	// backend.ErrUnavailable, as does a write waiting for the one write
	// connection.
	ReadConns int
	// Timeouts bound every call (DefaultReadTimeout, DefaultWriteTimeout).
	Timeouts Timeouts
	// Metrics counts the database's failures
	// (riskauth_backend_errors_total{backend="sqlite"}); nil counts none.
	Metrics *backend.Metrics
}

// OpenSQLite opens (creating when needed, 0600) the database file at path
// and applies pending migrations. It fails with authn.ErrSchemaTooNew when the
// file was migrated by a newer binary. Close it when done.
func OpenSQLite(ctx context.Context, path string, opts SQLiteOptions) (*SQLite, error) {
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") {
		// An in-memory database would be a different one per connection,
		// and we use two pools.
		return nil, fmt.Errorf("store: sqlite: invalid path %q", path)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	// Accounts, sessions and tokens: 0600, and so the -wal and -shm files
	// SQLite adds beside it.
	if err := privfile.SQLite(path); err != nil {
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	params := fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)",
		max(opts.BusyTimeout.Milliseconds(), 1))
	// _txlock=immediate takes the write lock at BEGIN, so a transaction
	// never has to upgrade a read lock later, which is where SQLITE_BUSY
	// comes from even with a busy timeout.
	// secure_delete on the writer: deleted rows (an erased account) are
	// overwritten with zeros rather than left in free pages; EraseUser
	// then empties the WAL, which still holds the old page images.
	write, err := sql.Open("sqlite", path+params+"&_pragma=secure_delete(1)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: open: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", path+params+"&_pragma=query_only(1)")
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("store: sqlite: open reader: %w", err)
	}
	read.SetMaxOpenConns(opts.ReadConns)
	read.SetMaxIdleConns(opts.ReadConns)
	t := opts.Timeouts.withDefaults()
	opts.Metrics.Init("sqlite")
	s := &SQLite{write: newCachedDB(write, t, opts.Metrics, true), read: newCachedDB(read, t, opts.Metrics, false)}
	if err := s.migrateRetrying(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// migrateRetrying runs migrate again while it fails with SQLITE_BUSY: a
// fresh file opened by several processes at once (instances starting
// together) has them all switch it to WAL, and SQLite answers that
// switch, and a reader's lock upgrade, with SQLITE_BUSY at once rather
// than through the busy timeout (seen as "database is locked" 30 ms into
// the storetest's concurrent opens on a loaded machine). Each attempt is
// whole (the versions are re-read), so a migration another process
// applied meanwhile is skipped; about 5 s in all.
func (s *SQLite) migrateRetrying(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := s.migrate(ctx)
		var se *sqlite.Error
		if err == nil || attempt == 25 || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 15 * time.Millisecond):
		}
	}
}

// Close closes both pools.
func (s *SQLite) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// Ping checks that the database answers, for readiness probes.
func (s *SQLite) Ping(ctx context.Context) error {
	if _, err := s.read.ExecContext(ctx, `SELECT 1`); err != nil {
		return fmt.Errorf("store: sqlite: %w", err)
	}
	return nil
}

// migrate applies pending migrations, each in its own immediate
// transaction; re-checking the version inside the transaction makes two
// processes opening one file together apply each migration once.
func (s *SQLite) migrate(ctx context.Context) error {
	// No per-call deadline: a migration takes as long as it takes, once,
	// at start-up.
	ctx = withBudget(ctx, 0)
	ms, err := loadMigrations("sqlite")
	if err != nil {
		return err
	}
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("store: migrate: create schema_migrations: %w", err)
	}
	applied := map[int64]bool{}
	rows, err := s.write.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("store: migrate: read versions: %w", err)
	}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			_ = rows.Close()
			return fmt.Errorf("store: migrate: read versions: %w", err)
		}
		applied[v] = true
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("store: migrate: read versions: %w", err)
	}
	if err := checkKnown(ms, applied); err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		err := s.write.inTx(ctx, true, func(ctx context.Context, tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			// The database's clock, not ours: applied_at is bookkeeping.
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at)
				VALUES (?, ?, CAST(unixepoch('subsec') * 1000 AS INTEGER))`, m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migrate: %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE on the write
// connection) under the write deadline, which fn gets as its context. fn
// must use only tx: the write pool has one connection, so any other write
// from fn would wait for itself.
func (s *SQLite) inTx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return s.write.inTx(ctx, false, fn)
}

// Times are stored as unix milliseconds, NULL for the zero time.

func ms(t time.Time) int64 { return t.UnixMilli() }

func nullMs(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMs(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMs(v.Int64)
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// notFound maps sql.ErrNoRows to authn.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return authn.ErrNotFound
	}
	return err
}

// affected returns ErrNotFound when res changed no row.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return authn.ErrNotFound
	}
	return nil
}
