package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

var _ authn.UserDirectory = (*Postgres)(nil)

// ListUsers implements authn.UserDirectory.
func (s *Postgres) ListUsers(ctx context.Context, q authn.UserQuery) ([]authn.User, error) {
	query, args, err := listUsersSQL(pgUserSearch, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var out []authn.User
	for rows.Next() {
		u, err := scanPgUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return out, nil
}

// DeleteUser implements authn.UserDirectory; the foreign keys cascade.
func (s *Postgres) DeleteUser(ctx context.Context, userID string) error {
	if err := pgAffected(s.db.Exec(ctx, `DELETE FROM users WHERE id = $1`, userID)); err != nil {
		return fmt.Errorf("store: delete user: %w", err)
	}
	return nil
}

// DeleteFailedAttempts implements authn.UserDirectory.
func (s *Postgres) DeleteFailedAttempts(ctx context.Context, userID string, since time.Time) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM login_attempts WHERE user_id = $1 AND NOT success AND at >= $2`, userID, since)
	if err != nil {
		return 0, fmt.Errorf("store: delete failed attempts: %w", err)
	}
	return tag.RowsAffected(), nil
}
