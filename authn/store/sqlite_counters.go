package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// CountEvents implements authn.EventCounter.
func (s *SQLite) CountEvents(ctx context.Context, key []byte, since time.Time) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM counter_events WHERE key = ? AND at >= ?`,
		key, ms(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count events: %w", err)
	}
	return n, nil
}

// AddEvent implements authn.EventCounter.
func (s *SQLite) AddEvent(ctx context.Context, key []byte, at, expires time.Time) error {
	if _, err := s.write.ExecContext(ctx, `INSERT INTO counter_events (key, at, expires_at) VALUES (?, ?, ?)`,
		key, ms(at), ms(expires)); err != nil {
		return fmt.Errorf("store: add event: %w", err)
	}
	return nil
}

// ReserveEvent implements authn.EventCounter. The write connection's
// immediate transaction serialises it with every other write.
func (s *SQLite) ReserveEvent(ctx context.Context, key []byte, limit int, since, at, expires time.Time) (bool, error) {
	ok := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM counter_events WHERE key = ? AND at >= ?`,
			key, ms(since)).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return nil
		}
		ok = true
		_, err := tx.ExecContext(ctx, `INSERT INTO counter_events (key, at, expires_at) VALUES (?, ?, ?)`, key, ms(at), ms(expires))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: reserve event: %w", err)
	}
	return ok, nil
}

// ClearEvents implements authn.EventCounter.
func (s *SQLite) ClearEvents(ctx context.Context, key []byte) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM counter_events WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: clear events: %w", err)
	}
	return nil
}
