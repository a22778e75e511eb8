package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

var _ authn.UserDirectory = (*SQLite)(nil)

// ListUsers implements authn.UserDirectory.
func (s *SQLite) ListUsers(ctx context.Context, q authn.UserQuery) ([]authn.User, error) {
	query, args, err := listUsersSQL(sqliteUserSearch, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var out []authn.User
	for rows.Next() {
		u, err := scanSQLiteUser(rows)
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

// DeleteUser implements authn.UserDirectory. The foreign keys cascade
// (the connection enables them) to everything keyed to the account.
func (s *SQLite) DeleteUser(ctx context.Context, userID string) error {
	if err := affected(s.write.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, userID)); err != nil {
		return fmt.Errorf("store: delete user: %w", err)
	}
	return nil
}

// DeleteFailedAttempts implements authn.UserDirectory.
func (s *SQLite) DeleteFailedAttempts(ctx context.Context, userID string, since time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM login_attempts WHERE user_id = ? AND success = 0 AND at >= ?`, userID, ms(since))
	if err != nil {
		return 0, fmt.Errorf("store: delete failed attempts: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete failed attempts: %w", err)
	}
	return n, nil
}
