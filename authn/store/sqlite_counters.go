package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The counter statements, one constant each so that the query-plan test
// (plan_test.go) explains exactly what runs.
const (
	sqliteCountEvents = `SELECT count(*) FROM counter_events WHERE key = ? AND at >= ?`
	sqliteAddEvent    = `INSERT INTO counter_events (key, at, expires_at) VALUES (?, ?, ?)`
	sqliteClearEvents = `DELETE FROM counter_events WHERE key = ?`
)

// CountEvents implements authn.EventCounter.
func (s *SQLite) CountEvents(ctx context.Context, key []byte, since time.Time) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, sqliteCountEvents, key, ms(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count events: %w", err)
	}
	return n, nil
}

// AddEvent implements authn.EventCounter.
func (s *SQLite) AddEvent(ctx context.Context, key []byte, at, expires time.Time) error {
	if _, err := s.write.ExecContext(ctx, sqliteAddEvent, key, ms(at), ms(expires)); err != nil {
		return fmt.Errorf("store: add event: %w", err)
	}
	return nil
}

// ReserveEvent implements authn.EventCounter. The write connection's
// immediate transaction serialises it with every other write. A refused
// reservation writes its row too, at the epoch where no count looks
// (refusedAt), so that granted and refused cost the same (issue 17, item
// 4).
func (s *SQLite) ReserveEvent(ctx context.Context, key []byte, limit int, since, at, expires time.Time) (bool, error) {
	ok := false
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, sqliteCountEvents, key, ms(since)).Scan(&n); err != nil {
			return err
		}
		ok = n < limit
		if !ok {
			at, expires = refusedAt()
		}
		_, err := tx.ExecContext(ctx, sqliteAddEvent, key, ms(at), ms(expires))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: reserve event: %w", err)
	}
	return ok, nil
}

// ClearEvents implements authn.EventCounter.
func (s *SQLite) ClearEvents(ctx context.Context, key []byte) error {
	if _, err := s.write.ExecContext(ctx, sqliteClearEvents, key); err != nil {
		return fmt.Errorf("store: clear events: %w", err)
	}
	return nil
}
