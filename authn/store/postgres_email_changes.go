package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskauth/riskauth/authn"
)

var _ authn.EmailChangeStore = (*Postgres)(nil)

// CreateEmailChange implements authn.EmailChangeStore.
func (s *Postgres) CreateEmailChange(ctx context.Context, c authn.EmailChange) error {
	_, err := s.db.Exec(ctx, `INSERT INTO email_changes (`+emailChangeCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.ID, c.UserID, c.OldEmail, c.NewEmail, c.ConfirmRequired, pgNullTime(c.VerifiedAt), pgNullTime(c.ConfirmedAt),
		pgNullTime(c.AppliedAt), pgNullTime(c.UndoneAt), pgNullTime(c.UndoUntil), c.CreatedAt, c.ExpiresAt, c.EvaluationID)
	if err != nil {
		return fmt.Errorf("store: create email change: %w", mapInsertError(err))
	}
	return nil
}

func scanPgEmailChange(r rowScanner) (authn.EmailChange, error) {
	var (
		c                                       authn.EmailChange
		verified, confirmed, applied, undone, u *time.Time
	)
	if err := r.Scan(&c.ID, &c.UserID, &c.OldEmail, &c.NewEmail, &c.ConfirmRequired, &verified, &confirmed, &applied, &undone, &u,
		&c.CreatedAt, &c.ExpiresAt, &c.EvaluationID); err != nil {
		return authn.EmailChange{}, pgNotFound(err)
	}
	c.VerifiedAt, c.ConfirmedAt, c.AppliedAt, c.UndoneAt, c.UndoUntil = pgTime(verified), pgTime(confirmed), pgTime(applied),
		pgTime(undone), pgTime(u)
	c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
	return c, nil
}

// EmailChangeByID implements authn.EmailChangeStore.
func (s *Postgres) EmailChangeByID(ctx context.Context, id string) (authn.EmailChange, error) {
	c, err := scanPgEmailChange(s.db.QueryRow(ctx, `SELECT `+emailChangeCols+` FROM email_changes WHERE id = $1`, id))
	if err != nil {
		return authn.EmailChange{}, fmt.Errorf("store: email change: %w", err)
	}
	return c, nil
}

// MarkEmailChange implements authn.EmailChangeStore.
func (s *Postgres) MarkEmailChange(ctx context.Context, id string, step authn.EmailChangeStep, at time.Time) (authn.EmailChange, error) {
	col, err := stepColumn(step)
	if err != nil {
		return authn.EmailChange{}, err
	}
	c, err := scanPgEmailChange(s.db.QueryRow(ctx, `UPDATE email_changes SET `+col+` = $1 WHERE id = $2 AND `+col+` IS NULL
		RETURNING `+emailChangeCols, at, id))
	if errors.Is(err, authn.ErrNotFound) {
		if _, gerr := s.EmailChangeByID(ctx, id); gerr == nil {
			err = authn.ErrConflict
		}
	}
	if err != nil {
		return authn.EmailChange{}, fmt.Errorf("store: mark email change: %w", err)
	}
	return c, nil
}

// ApplyEmailChange implements authn.EmailChangeStore.
func (s *Postgres) ApplyEmailChange(ctx context.Context, id string, at, undoUntil time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := pgAffected(tx.Exec(ctx, `UPDATE email_changes SET applied_at = $1, undo_until = $2
			WHERE id = $3 AND applied_at IS NULL AND undone_at IS NULL`, at, undoUntil, id)); err != nil {
			return conflict(err)
		}
		if err := pgAffected(tx.Exec(ctx, `UPDATE users SET email = c.new_email, email_verified_at = $1, updated_at = $1
			FROM email_changes c WHERE c.id = $2 AND users.id = c.user_id AND lower(users.email) = lower(c.old_email)`, at, id)); err != nil {
			return conflict(mapInsertError(err))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: apply email change: %w", err)
	}
	return nil
}

// UndoEmailChange implements authn.EmailChangeStore.
func (s *Postgres) UndoEmailChange(ctx context.Context, id string, at time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := pgAffected(tx.Exec(ctx, `UPDATE email_changes SET undone_at = $1
			WHERE id = $2 AND applied_at IS NOT NULL AND undone_at IS NULL AND undo_until > $1`, at, id)); err != nil {
			return conflict(err)
		}
		if err := pgAffected(tx.Exec(ctx, `UPDATE users SET email = c.old_email, email_verified_at = $1, updated_at = $1
			FROM email_changes c WHERE c.id = $2 AND users.id = c.user_id AND lower(users.email) = lower(c.new_email)`, at, id)); err != nil {
			return conflict(mapInsertError(err))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: undo email change: %w", err)
	}
	return nil
}
