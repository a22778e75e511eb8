package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// cachedDB is a *sql.DB whose one-shot queries reuse prepared statements.
// modernc's SQLite driver compiles every query it is handed afresh; on the
// sign-in path that was about a third of a blocked attempt's CPU (about
// 50 µs, profiled with cmd/authload). The queries are constants, so the
// cache is bounded by the code; database/sql re-prepares a statement on
// each pooled connection it lands on, once.
//
// Every call runs under a deadline (Timeouts), the wait for a pooled
// connection included, and a failure of the database rather than of the
// statement comes back as a *backend.Error.
type cachedDB struct {
	*sql.DB
	t     Timeouts
	m     *backend.Metrics
	write bool // the write connection: every call is bounded as a write
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newCachedDB(db *sql.DB, t Timeouts, m *backend.Metrics, write bool) *cachedDB {
	return &cachedDB{DB: db, t: t, m: m, write: write, stmts: make(map[string]*sql.Stmt)}
}

// fail classifies err (sqliteUnavailable) and counts a new backend
// failure.
func (c *cachedDB) fail(ctx, dctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if _, was := backend.As(err); was {
		return err
	}
	err = sqliteUnavailable(ctx, dctx, err)
	c.m.Observe(err)
	return err
}

func (c *cachedDB) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	st := c.stmts[query]
	c.mu.RUnlock()
	if st != nil {
		return st, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st = c.stmts[query]; st != nil {
		return st, nil
	}
	st, err := c.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

// QueryRowContext runs query through its cached statement, under its
// deadline, which lasts until the row is scanned.
func (c *cachedDB) QueryRowContext(ctx context.Context, query string, args ...any) sqlRow {
	dctx, cancel := c.deadline(ctx, query)
	st, err := c.stmt(dctx, query)
	if err != nil {
		// The plain call reports the same error through the Row.
		return sqlRow{c: c, row: c.DB.QueryRowContext(dctx, query, args...), ctx: ctx, dctx: dctx, cancel: cancel}
	}
	return sqlRow{c: c, row: st.QueryRowContext(dctx, args...), ctx: ctx, dctx: dctx, cancel: cancel}
}

// QueryContext runs query through its cached statement, under its
// deadline, which lasts until the rows are closed.
func (c *cachedDB) QueryContext(ctx context.Context, query string, args ...any) (*sqlRows, error) {
	dctx, cancel := c.deadline(ctx, query)
	st, err := c.stmt(dctx, query)
	if err != nil {
		cancel()
		return nil, c.fail(ctx, dctx, err)
	}
	rows, err := st.QueryContext(dctx, args...)
	if err != nil {
		cancel()
		return nil, c.fail(ctx, dctx, err)
	}
	return &sqlRows{c: c, Rows: rows, ctx: ctx, dctx: dctx, cancel: cancel}, nil
}

// ExecContext runs query through its cached statement, under its deadline.
func (c *cachedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	dctx, cancel := c.deadline(ctx, query)
	defer cancel()
	st, err := c.stmt(dctx, query)
	if err != nil {
		return nil, c.fail(ctx, dctx, err)
	}
	res, err := st.ExecContext(dctx, args...)
	return res, c.fail(ctx, dctx, err)
}

// inTx runs fn in a transaction under the write deadline (none when
// unbounded: migrations), committing when fn returns nil; fn uses the
// context it is given, which carries the deadline.
func (c *cachedDB) inTx(ctx context.Context, unbounded bool, fn func(ctx context.Context, tx *sql.Tx) error) error {
	dctx, cancel := ctx, context.CancelFunc(func() {})
	if !unbounded {
		dctx, cancel = c.t.deadline(ctx, true)
	}
	defer cancel()
	tx, err := c.BeginTx(dctx, nil)
	if err != nil {
		return c.fail(ctx, dctx, err)
	}
	if err := fn(dctx, tx); err != nil {
		_ = tx.Rollback()
		return c.fail(ctx, dctx, err)
	}
	return c.fail(ctx, dctx, tx.Commit())
}

// deadline bounds a call on this pool: the write connection's calls are
// writes, the read pool's reads.
func (c *cachedDB) deadline(ctx context.Context, query string) (context.Context, context.CancelFunc) {
	return c.t.deadline(ctx, c.write || !isRead(query))
}

// sqlRow is a *sql.Row whose deadline ends when it is scanned.
type sqlRow struct {
	c         *cachedDB
	row       *sql.Row
	ctx, dctx context.Context
	cancel    context.CancelFunc
}

// Scan scans the row and releases its deadline.
func (r sqlRow) Scan(dest ...any) error {
	defer r.cancel()
	return r.c.fail(r.ctx, r.dctx, r.row.Scan(dest...))
}

// sqlRows are *sql.Rows whose deadline ends when they are closed.
type sqlRows struct {
	c *cachedDB
	*sql.Rows
	ctx, dctx context.Context
	cancel    context.CancelFunc
}

// Close closes the rows and releases their deadline.
func (r *sqlRows) Close() error {
	defer r.cancel()
	return r.Rows.Close()
}

// Err reports the rows' error, a backend failure as a *backend.Error.
func (r *sqlRows) Err() error { return r.c.fail(r.ctx, r.dctx, r.Rows.Err()) }

// sqliteUnavailable wraps err in a *backend.Error when the database, not
// the statement, failed: the call's own deadline fired (dctx expired while
// the caller's ctx did not; the driver reports an interrupt), the file is
// locked by another process past the busy timeout, or the disk failed.
// Anything else (a constraint, sql.ErrNoRows) is returned as it is.
func sqliteUnavailable(ctx, dctx context.Context, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return err // an answer, however late
	}
	if ctx.Err() == nil && errors.Is(dctx.Err(), context.DeadlineExceeded) {
		return backend.Wrap("sqlite", backend.KindTimeout, err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return backend.Wrap("sqlite", backend.KindTimeout, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return backend.Wrap("sqlite", backend.KindTimeout, err)
		case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY:
			return backend.Wrap("sqlite", backend.KindDown, err)
		}
		return err
	}
	if errors.Is(err, sql.ErrConnDone) {
		return backend.Wrap("sqlite", backend.KindDown, err)
	}
	return err
}

// Close closes the statements, then the pool.
func (c *cachedDB) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for q, st := range c.stmts {
		errs = append(errs, st.Close())
		delete(c.stmts, q)
	}
	return errors.Join(append(errs, c.DB.Close())...)
}
