package store

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// pgDB is the PostgreSQL pool as the store uses it: every call runs under
// its deadline (Timeouts: the wait for a pooled connection included, so a
// request that cannot get one in time fails fast), and a failure of the
// server rather than of the statement comes back as a *backend.Error
// (errors.Is backend.ErrUnavailable).
type pgDB struct {
	pool *pgxpool.Pool
	t    Timeouts
	m    *backend.Metrics
}

// fail classifies err (pgUnavailable) and counts a new backend failure.
func (db *pgDB) fail(err error) error {
	if err == nil {
		return nil
	}
	if _, was := backend.As(err); was {
		return err
	}
	err = pgUnavailable(err)
	db.m.Observe(err)
	return err
}

// Exec runs a statement under the read or write deadline.
func (db *pgDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	dctx, cancel := db.t.deadline(ctx, !isRead(sql))
	defer cancel()
	tag, err := db.pool.Exec(dctx, sql, args...)
	return tag, db.fail(err)
}

// QueryRow runs a query whose deadline lasts until the row is scanned.
func (db *pgDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	dctx, cancel := db.t.deadline(ctx, !isRead(sql))
	return pgRow{db: db, row: db.pool.QueryRow(dctx, sql, args...), cancel: cancel}
}

// Query runs a query whose deadline lasts until the rows are closed.
func (db *pgDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	dctx, cancel := db.t.deadline(ctx, !isRead(sql))
	rows, err := db.pool.Query(dctx, sql, args...)
	if err != nil {
		cancel()
		return nil, db.fail(err)
	}
	return &pgRows{db: db, Rows: rows, cancel: cancel}, nil
}

// inTx runs fn in a transaction under the write deadline (none when
// unbounded: migrations at start-up take as long as they take),
// committing when fn returns nil. fn must use the context it is given,
// which carries the deadline.
func (db *pgDB) inTx(ctx context.Context, unbounded bool, fn func(ctx context.Context, tx pgx.Tx) error) error {
	cancel := context.CancelFunc(func() {})
	if !unbounded {
		ctx, cancel = db.t.deadline(ctx, true)
	}
	defer cancel()
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return db.fail(err)
	}
	if err := fn(ctx, tx); err != nil {
		_ = tx.Rollback(ctx)
		return db.fail(err)
	}
	return db.fail(tx.Commit(ctx))
}

// Close closes the pool.
func (db *pgDB) Close() { db.pool.Close() }

type pgRow struct {
	db     *pgDB
	row    pgx.Row
	cancel context.CancelFunc
}

func (r pgRow) Scan(dest ...any) error {
	defer r.cancel()
	return r.db.fail(r.row.Scan(dest...))
}

type pgRows struct {
	db *pgDB
	pgx.Rows
	cancel context.CancelFunc
}

func (r *pgRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.cancel()
	return false
}

func (r *pgRows) Close() {
	r.Rows.Close()
	r.cancel()
}

func (r *pgRows) Err() error { return r.db.fail(r.Rows.Err()) }

// pgUnavailable wraps err in a *backend.Error when the server, not the
// statement, failed: a deadline that fired, a connection that could not be
// made or broke, or the server saying it cannot serve (connection
// exceptions, shutdown, too many connections). Anything else, a
// constraint violation or pgx.ErrNoRows, is returned as it is.
func pgUnavailable(err error) error {
	if err == nil {
		return nil
	}
	if kind, ok := backend.Network(err); ok {
		return backend.Wrap("postgres", kind, err)
	}
	if pgconn.Timeout(err) {
		return backend.Wrap("postgres", backend.KindTimeout, err)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return backend.Wrap("postgres", backend.KindDown, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),                           // insufficient resources (too many connections, out of memory or disk)
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03": // admin or crash shutdown, cannot connect now
			return backend.Wrap("postgres", backend.KindDown, err)
		}
		return err
	}
	// pgx reports a connection lost mid-call, or a pool closed under us,
	// by text only.
	if msg := err.Error(); pgconn.SafeToRetry(err) || strings.Contains(msg, "conn closed") || strings.Contains(msg, "closed pool") {
		return backend.Wrap("postgres", backend.KindDown, err)
	}
	return err
}
