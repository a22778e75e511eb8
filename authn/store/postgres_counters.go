package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The counter statements, one constant each so that the query-plan test
// (plan_test.go) explains exactly what runs.
const (
	pgCountEvents = `SELECT count(*) FROM counter_events WHERE key = $1 AND at >= $2`
	pgAddEvent    = `INSERT INTO counter_events (key, at, expires_at) VALUES ($1, $2, $3)`
	pgClearEvents = `DELETE FROM counter_events WHERE key = $1`
)

// CountEvents implements authn.EventCounter.
func (s *Postgres) CountEvents(ctx context.Context, key []byte, since time.Time) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, pgCountEvents, key, since).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count events: %w", err)
	}
	return n, nil
}

// AddEvent implements authn.EventCounter.
func (s *Postgres) AddEvent(ctx context.Context, key []byte, at, expires time.Time) error {
	if _, err := s.db.Exec(ctx, pgAddEvent, key, at, expires); err != nil {
		return fmt.Errorf("store: add event: %w", err)
	}
	return nil
}

// pgCounterLock serialises the reservations of one key across every
// connection and instance for the rest of the transaction; other keys do
// not wait.
const pgCounterLock = `SELECT pg_advisory_xact_lock(hashtextextended('riskauth/authn/counter:' || encode($1, 'hex'), 0))`

// ReserveEvent implements authn.EventCounter: count and insert under a
// per-key advisory lock, so that two instances cannot both see room for
// the last event. A refused reservation writes its row too, at the epoch
// where no count looks (refusedAt), so that granted and refused cost the
// same (issue 17, item 4).
func (s *Postgres) ReserveEvent(ctx context.Context, key []byte, limit int, since, at, expires time.Time) (bool, error) {
	ok := false
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, pgCounterLock, key); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, pgCountEvents, key, since).Scan(&n); err != nil {
			return err
		}
		ok = n < limit
		if !ok {
			at, expires = refusedAt()
		}
		_, err := tx.Exec(ctx, pgAddEvent, key, at, expires)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: reserve event: %w", err)
	}
	return ok, nil
}

// ClearEvents implements authn.EventCounter.
func (s *Postgres) ClearEvents(ctx context.Context, key []byte) error {
	if _, err := s.db.Exec(ctx, pgClearEvents, key); err != nil {
		return fmt.Errorf("store: clear events: %w", err)
	}
	return nil
}
