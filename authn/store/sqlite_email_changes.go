package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

var _ authn.EmailChangeStore = (*SQLite)(nil)

// Columns of email_changes (migrations/*/0013_email_changes.sql).
const emailChangeCols = `id, user_id, old_email, new_email, confirm_required, verified_at, confirmed_at, applied_at, undone_at,
	undo_until, created_at, expires_at, evaluation_id`

// CreateEmailChange implements authn.EmailChangeStore.
func (s *SQLite) CreateEmailChange(ctx context.Context, c authn.EmailChange) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO email_changes (`+emailChangeCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, c.OldEmail, c.NewEmail, c.ConfirmRequired, nullMs(c.VerifiedAt), nullMs(c.ConfirmedAt), nullMs(c.AppliedAt),
		nullMs(c.UndoneAt), nullMs(c.UndoUntil), ms(c.CreatedAt), ms(c.ExpiresAt), c.EvaluationID)
	if err != nil {
		return fmt.Errorf("store: create email change: %w", mapInsertError(err))
	}
	return nil
}

func scanSQLiteEmailChange(r rowScanner) (authn.EmailChange, error) {
	var (
		c                                       authn.EmailChange
		verified, confirmed, applied, undone, u sql.NullInt64
		created, expires                        int64
	)
	if err := r.Scan(&c.ID, &c.UserID, &c.OldEmail, &c.NewEmail, &c.ConfirmRequired, &verified, &confirmed, &applied, &undone, &u,
		&created, &expires, &c.EvaluationID); err != nil {
		return authn.EmailChange{}, notFound(err)
	}
	c.VerifiedAt, c.ConfirmedAt, c.AppliedAt, c.UndoneAt, c.UndoUntil = fromNullMs(verified), fromNullMs(confirmed),
		fromNullMs(applied), fromNullMs(undone), fromNullMs(u)
	c.CreatedAt, c.ExpiresAt = fromMs(created), fromMs(expires)
	return c, nil
}

// EmailChangeByID implements authn.EmailChangeStore.
func (s *SQLite) EmailChangeByID(ctx context.Context, id string) (authn.EmailChange, error) {
	c, err := scanSQLiteEmailChange(s.read.QueryRowContext(ctx, `SELECT `+emailChangeCols+` FROM email_changes WHERE id = ?`, id))
	if err != nil {
		return authn.EmailChange{}, fmt.Errorf("store: email change: %w", err)
	}
	return c, nil
}

// MarkEmailChange implements authn.EmailChangeStore.
func (s *SQLite) MarkEmailChange(ctx context.Context, id string, step authn.EmailChangeStep, at time.Time) (authn.EmailChange, error) {
	col, err := stepColumn(step)
	if err != nil {
		return authn.EmailChange{}, err
	}
	c, err := scanSQLiteEmailChange(s.write.QueryRowContext(ctx, `UPDATE email_changes SET `+col+` = ? WHERE id = ? AND `+col+` IS NULL
		RETURNING `+emailChangeCols, ms(at), id))
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

// stepColumn is the column of a proof; a fixed set, never user input.
func stepColumn(step authn.EmailChangeStep) (string, error) {
	switch step {
	case authn.EmailChangeVerified:
		return "verified_at", nil
	case authn.EmailChangeConfirmed:
		return "confirmed_at", nil
	}
	return "", fmt.Errorf("store: unknown email change step %q", step)
}

// ApplyEmailChange implements authn.EmailChangeStore.
func (s *SQLite) ApplyEmailChange(ctx context.Context, id string, at, undoUntil time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, `UPDATE email_changes SET applied_at = ?, undo_until = ?
			WHERE id = ? AND applied_at IS NULL AND undone_at IS NULL`, ms(at), ms(undoUntil), id)); err != nil {
			return conflict(err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET email = c.new_email, email_verified_at = ?, updated_at = ?
			FROM email_changes c WHERE c.id = ? AND users.id = c.user_id AND users.email = c.old_email`, ms(at), ms(at), id)
		if err != nil {
			return mapInsertError(err)
		}
		return moved(tx.QueryRowContext(ctx, `SELECT count(*) FROM users u JOIN email_changes c ON u.id = c.user_id
			WHERE c.id = ? AND u.email = c.new_email`, id))
	})
	if err != nil {
		return fmt.Errorf("store: apply email change: %w", err)
	}
	return nil
}

// UndoEmailChange implements authn.EmailChangeStore.
func (s *SQLite) UndoEmailChange(ctx context.Context, id string, at time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, `UPDATE email_changes SET undone_at = ?
			WHERE id = ? AND applied_at IS NOT NULL AND undone_at IS NULL AND undo_until > ?`, ms(at), id, ms(at))); err != nil {
			return conflict(err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE users SET email = c.old_email, email_verified_at = ?, updated_at = ?
			FROM email_changes c WHERE c.id = ? AND users.id = c.user_id AND users.email = c.new_email`, ms(at), ms(at), id)
		if err != nil {
			return mapInsertError(err)
		}
		return moved(tx.QueryRowContext(ctx, `SELECT count(*) FROM users u JOIN email_changes c ON u.id = c.user_id
			WHERE c.id = ? AND u.email = c.old_email`, id))
	})
	if err != nil {
		return fmt.Errorf("store: undo email change: %w", err)
	}
	return nil
}

// conflict turns "no row changed" into ErrConflict.
func conflict(err error) error {
	if errors.Is(err, authn.ErrNotFound) {
		return authn.ErrConflict
	}
	return err
}

// moved checks that the account now has the target address: when it had
// neither (changed meanwhile), the transaction is a conflict.
func moved(r rowScanner) error {
	var n int
	if err := r.Scan(&n); err != nil {
		return err
	}
	if n != 1 {
		return authn.ErrConflict
	}
	return nil
}
