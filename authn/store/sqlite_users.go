package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

func scanSQLiteUser(r rowScanner) (authn.User, error) {
	var (
		u                 authn.User
		verified, changed sql.NullInt64
		created, updated  int64
		disabled          int
	)
	if err := r.Scan(&u.ID, &u.Email, &verified, &u.PasswordHash, &changed, &created, &updated, &disabled); err != nil {
		return authn.User{}, err
	}
	u.EmailVerifiedAt, u.PasswordChangedAt = fromNullMs(verified), fromNullMs(changed)
	u.CreatedAt, u.UpdatedAt = fromMs(created), fromMs(updated)
	u.Disabled = disabled != 0
	return u, nil
}

// CreateUser implements authn.UserWriter.
func (s *SQLite) CreateUser(ctx context.Context, u authn.User) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, nullMs(u.EmailVerifiedAt), u.PasswordHash, nullMs(u.PasswordChangedAt),
		ms(u.CreatedAt), ms(u.UpdatedAt), boolInt(u.Disabled))
	if err != nil {
		return fmt.Errorf("store: create user: %w", mapInsertError(err))
	}
	return nil
}

// UserByID implements authn.UserReader.
func (s *SQLite) UserByID(ctx context.Context, id string) (authn.User, error) {
	u, err := scanSQLiteUser(s.read.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return authn.User{}, fmt.Errorf("store: user by id: %w", notFound(err))
	}
	return u, nil
}

// UserByEmail implements authn.UserReader. The column's NOCASE collation
// makes the comparison case-insensitive and lets it use the unique index.
func (s *SQLite) UserByEmail(ctx context.Context, email string) (authn.User, error) {
	u, err := scanSQLiteUser(s.read.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email = ?`, email))
	if err != nil {
		return authn.User{}, fmt.Errorf("store: user by email: %w", notFound(err))
	}
	return u, nil
}

// SetPassword implements authn.UserWriter.
func (s *SQLite) SetPassword(ctx context.Context, userID, hash string, at time.Time) error {
	err := affected(s.write.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?`,
		hash, ms(at), ms(at), userID))
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	return nil
}

// ReplacePasswordHash implements authn.UserWriter.
func (s *SQLite) ReplacePasswordHash(ctx context.Context, userID, old, hash string, at time.Time) error {
	err := affected(s.write.ExecContext(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?`,
		hash, ms(at), userID, old))
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
func (s *SQLite) MarkEmailVerified(ctx context.Context, userID string, at time.Time) error {
	err := affected(s.write.ExecContext(ctx, `UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?), updated_at = ? WHERE id = ?`,
		ms(at), ms(at), userID))
	if err != nil {
		return fmt.Errorf("store: mark email verified: %w", err)
	}
	return nil
}

// SetDisabled implements authn.UserWriter.
func (s *SQLite) SetDisabled(ctx context.Context, userID string, disabled bool, at time.Time) error {
	err := affected(s.write.ExecContext(ctx, `UPDATE users SET disabled = ?, updated_at = ? WHERE id = ?`,
		boolInt(disabled), ms(at), userID))
	if err != nil {
		return fmt.Errorf("store: set disabled: %w", err)
	}
	return nil
}
