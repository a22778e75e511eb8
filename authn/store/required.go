package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskauth/riskauth/authn"
)

// The required actions of both stores (authn.RequiredActionStore): a
// row per pending action, deleted with the user.

var (
	_ authn.RequiredActionStore = (*SQLite)(nil)
	_ authn.RequiredActionStore = (*Postgres)(nil)
)

// AddRequiredAction implements authn.RequiredActionStore.
func (s *SQLite) AddRequiredAction(ctx context.Context, userID, action string, at time.Time) error {
	if _, err := s.write.ExecContext(ctx, `INSERT INTO required_actions (user_id, action, created_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id, action) DO NOTHING`, userID, action, ms(at)); err != nil {
		return fmt.Errorf("store: add required action: %w", mapInsertError(err))
	}
	return nil
}

// RequiredActions implements authn.RequiredActionStore.
func (s *SQLite) RequiredActions(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT action FROM required_actions WHERE user_id = ? ORDER BY action`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: required actions: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("store: required actions: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: required actions: %w", err)
	}
	return out, nil
}

// RemoveRequiredAction implements authn.RequiredActionStore.
func (s *SQLite) RemoveRequiredAction(ctx context.Context, userID, action string) error {
	if _, err := s.write.ExecContext(ctx, `DELETE FROM required_actions WHERE user_id = ? AND action = ?`, userID, action); err != nil {
		return fmt.Errorf("store: remove required action: %w", err)
	}
	return nil
}

// AddRequiredAction implements authn.RequiredActionStore.
func (s *Postgres) AddRequiredAction(ctx context.Context, userID, action string, at time.Time) error {
	if _, err := s.db.Exec(ctx, `INSERT INTO required_actions (user_id, action, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, action) DO NOTHING`, userID, action, at); err != nil {
		return fmt.Errorf("store: add required action: %w", mapInsertError(err))
	}
	return nil
}

// RequiredActions implements authn.RequiredActionStore.
func (s *Postgres) RequiredActions(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT action FROM required_actions WHERE user_id = $1 ORDER BY action`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: required actions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("store: required actions: %w", err)
	}
	return out, nil
}

// RemoveRequiredAction implements authn.RequiredActionStore.
func (s *Postgres) RemoveRequiredAction(ctx context.Context, userID, action string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM required_actions WHERE user_id = $1 AND action = $2`, userID, action); err != nil {
		return fmt.Errorf("store: remove required action: %w", err)
	}
	return nil
}
