package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// cachedDB is a *sql.DB whose one-shot queries reuse prepared statements.
// modernc's SQLite driver compiles every query it is handed afresh; on the
// sign-in path that was about a third of a blocked attempt's CPU (about
// 50 µs, profiled with cmd/authload). The queries are constants, so the
// cache is bounded by the code; database/sql re-prepares a statement on
// each pooled connection it lands on, once.
type cachedDB struct {
	*sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newCachedDB(db *sql.DB) *cachedDB {
	return &cachedDB{DB: db, stmts: make(map[string]*sql.Stmt)}
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

// QueryRowContext runs query through its cached statement.
func (c *cachedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, query)
	if err != nil {
		// The plain call reports the same error through the Row.
		return c.DB.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// QueryContext runs query through its cached statement.
func (c *cachedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// ExecContext runs query through its cached statement.
func (c *cachedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
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
