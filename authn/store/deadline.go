package store

import (
	"context"
	"strings"
	"time"
)

// Default deadlines of one store call (Options of both stores). A read is
// an indexed lookup that takes about a millisecond; a write is a short
// transaction. Past them the database is hung or overloaded, and the
// caller is better served by a fast 503 than by waiting with it (issue 18:
// a frozen PostgreSQL held sign-ins for 20.9 s).
const (
	DefaultReadTimeout  = 500 * time.Millisecond
	DefaultWriteTimeout = 2 * time.Second
	// SweepTimeout bounds the periodic deletion of expired rows, which may
	// have a backlog to work through and runs off any request path.
	SweepTimeout = 30 * time.Second
)

// Timeouts are the per-call deadlines of a store. Zero fields take the
// defaults; a negative one disables that deadline (the caller's context
// alone bounds the call).
type Timeouts struct {
	// Read bounds a query that only reads, connection wait included.
	Read time.Duration
	// Write bounds a statement or transaction that writes, connection
	// wait included.
	Write time.Duration
}

func (t Timeouts) withDefaults() Timeouts {
	if t.Read == 0 {
		t.Read = DefaultReadTimeout
	}
	if t.Write == 0 {
		t.Write = DefaultWriteTimeout
	}
	return t
}

// budgetKey carries a deadline that overrides the store's own for the
// calls made with the context (the sweeper's longer one).
type budgetKey struct{}

// withBudget makes the store calls under ctx use d instead of the read or
// write deadline; 0 means none (the caller's context alone bounds them).
func withBudget(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, budgetKey{}, d)
}

// deadline returns ctx bounded by the call's deadline: the budget set with
// withBudget, else write or read by the statement. A deadline of the
// caller's that comes sooner stays in force.
func (t Timeouts) deadline(ctx context.Context, write bool) (context.Context, context.CancelFunc) {
	d := t.Read
	if write {
		d = t.Write
	}
	if b, ok := ctx.Value(budgetKey{}).(time.Duration); ok {
		d = b
	}
	if d <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// isRead reports whether a statement only reads: it starts with SELECT
// (or WITH ... SELECT, which this package does not use for writes). An
// UPDATE ... RETURNING run through QueryRow is a write.
func isRead(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) >= 6 && strings.EqualFold(q[:6], "select")
}
