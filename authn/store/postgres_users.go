package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

func scanPgUser(r rowScanner) (authn.User, error) {
	var (
		u                 authn.User
		verified, changed *time.Time
	)
	if err := r.Scan(&u.ID, &u.Email, &verified, &u.PasswordHash, &changed, &u.CreatedAt, &u.UpdatedAt, &u.Disabled); err != nil {
		return authn.User{}, err
	}
	u.EmailVerifiedAt, u.PasswordChangedAt = pgTime(verified), pgTime(changed)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, nil
}

// CreateUser implements authn.UserWriter.
func (s *Postgres) CreateUser(ctx context.Context, u authn.User) error {
	_, err := s.db.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.Email, pgNullTime(u.EmailVerifiedAt), u.PasswordHash, pgNullTime(u.PasswordChangedAt),
		u.CreatedAt, u.UpdatedAt, u.Disabled)
	if err != nil {
		return fmt.Errorf("store: create user: %w", mapInsertError(err))
	}
	return nil
}

// UserByID implements authn.UserReader.
func (s *Postgres) UserByID(ctx context.Context, id string) (authn.User, error) {
	u, err := scanPgUser(s.db.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return authn.User{}, fmt.Errorf("store: user by id: %w", pgNotFound(err))
	}
	return u, nil
}

// UserByEmail implements authn.UserReader; lower(email) matches the unique
// index, so the lookup is case-insensitive and indexed.
func (s *Postgres) UserByEmail(ctx context.Context, email string) (authn.User, error) {
	u, err := scanPgUser(s.db.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE lower(email) = lower($1)`, email))
	if err != nil {
		return authn.User{}, fmt.Errorf("store: user by email: %w", pgNotFound(err))
	}
	return u, nil
}

// SetPassword implements authn.UserWriter.
func (s *Postgres) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	err := pgAffected(s.db.Exec(ctx, `UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2 WHERE id = $3`,
		hash, at, userID))
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	return nil
}

// ReplacePasswordHash implements authn.UserWriter.
func (s *Postgres) ReplacePasswordHash(ctx context.Context, userID, old, hash string, at time.Time) error {
	err := pgAffected(s.db.Exec(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND password_hash = $4`,
		hash, at, userID, old))
	if errors.Is(err, authn.ErrNotFound) {
		// Tell a lost race (the hash changed) from a user that is gone.
		if _, uerr := s.UserByID(ctx, userID); uerr == nil {
			err = authn.ErrConflict
		}
	}
	if err != nil {
		return fmt.Errorf("store: replace password hash: %w", err)
	}
	return nil
}

// MarkEmailVerified implements authn.UserWriter.
func (s *Postgres) MarkEmailVerified(ctx context.Context, userID string, at time.Time) error {
	err := pgAffected(s.db.Exec(ctx, `UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1), updated_at = $1 WHERE id = $2`,
		at, userID))
	if err != nil {
		return fmt.Errorf("store: mark email verified: %w", err)
	}
	return nil
}

// SetDisabled implements authn.UserWriter.
func (s *Postgres) SetDisabled(ctx context.Context, userID string, disabled bool, at time.Time) error {
	err := pgAffected(s.db.Exec(ctx, `UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3`, disabled, at, userID))
	if err != nil {
		return fmt.Errorf("store: set disabled: %w", err)
	}
	return nil
}
