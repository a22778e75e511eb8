package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

func scanSQLiteTOTP(r rowScanner) (authn.TOTPFactor, error) {
	var (
		f         authn.TOTPFactor
		created   int64
		confirmed sql.NullInt64
	)
	if err := r.Scan(&f.ID, &f.UserID, &f.SealedSecret, &created, &confirmed, &f.LastUsedStep); err != nil {
		return authn.TOTPFactor{}, err
	}
	f.CreatedAt, f.ConfirmedAt = fromMs(created), fromNullMs(confirmed)
	return f, nil
}

// BeginTOTP implements authn.TOTPEnroller.
func (s *SQLite) BeginTOTP(ctx context.Context, f authn.TOTPFactor) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM totp_factors WHERE user_id = ? AND confirmed_at IS NULL`, f.UserID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO totp_factors (`+totpCols+`) VALUES (?, ?, ?, ?, NULL, 0)`,
			f.ID, f.UserID, f.SealedSecret, ms(f.CreatedAt))
		return mapInsertError(err)
	})
	if err != nil {
		return fmt.Errorf("store: begin totp: %w", err)
	}
	return nil
}

// PendingTOTP implements authn.TOTPEnroller.
func (s *SQLite) PendingTOTP(ctx context.Context, userID string) (authn.TOTPFactor, error) {
	f, err := scanSQLiteTOTP(s.read.QueryRowContext(ctx,
		`SELECT `+totpCols+` FROM totp_factors WHERE user_id = ? AND confirmed_at IS NULL`, userID))
	if err != nil {
		return authn.TOTPFactor{}, fmt.Errorf("store: pending totp: %w", notFound(err))
	}
	return f, nil
}

// ConfirmTOTP implements authn.TOTPEnroller.
func (s *SQLite) ConfirmTOTP(ctx context.Context, userID, factorID string, step int64, at time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM totp_factors WHERE user_id = ? AND confirmed_at IS NOT NULL AND id <> ?`,
			userID, factorID); err != nil {
			return err
		}
		return affected(tx.ExecContext(ctx, `UPDATE totp_factors SET confirmed_at = ?, last_used_step = ?
			WHERE id = ? AND user_id = ? AND confirmed_at IS NULL`, ms(at), step, factorID, userID))
	})
	if err != nil {
		return fmt.Errorf("store: confirm totp: %w", err)
	}
	return nil
}

// ActiveTOTP implements authn.TOTPVerifier.
func (s *SQLite) ActiveTOTP(ctx context.Context, userID string) (authn.TOTPFactor, error) {
	f, err := scanSQLiteTOTP(s.read.QueryRowContext(ctx,
		`SELECT `+totpCols+` FROM totp_factors WHERE user_id = ? AND confirmed_at IS NOT NULL`, userID))
	if err != nil {
		return authn.TOTPFactor{}, fmt.Errorf("store: active totp: %w", notFound(err))
	}
	return f, nil
}

// UseTOTPStep implements authn.TOTPVerifier. The single writer connection
// serialises the compare-and-set; the WHERE clause makes it one.
func (s *SQLite) UseTOTPStep(ctx context.Context, factorID string, step int64) error {
	err := affected(s.write.ExecContext(ctx, `UPDATE totp_factors SET last_used_step = ?
		WHERE id = ? AND confirmed_at IS NOT NULL AND last_used_step < ?`, step, factorID, step))
	if errors.Is(err, authn.ErrNotFound) {
		var n int
		if err = s.read.QueryRowContext(ctx, `SELECT count(*) FROM totp_factors WHERE id = ? AND confirmed_at IS NOT NULL`,
			factorID).Scan(&n); err == nil {
			err = authn.ErrNotFound
			if n > 0 {
				err = authn.ErrReplay
			}
		}
	}
	if err != nil {
		return fmt.Errorf("store: use totp step: %w", err)
	}
	return nil
}

// DeleteTOTP implements authn.TOTPRemover.
func (s *SQLite) DeleteTOTP(ctx context.Context, userID, factorID string) error {
	err := affected(s.write.ExecContext(ctx, `DELETE FROM totp_factors WHERE id = ? AND user_id = ?`, factorID, userID))
	if err != nil {
		return fmt.Errorf("store: delete totp: %w", err)
	}
	return nil
}

// ReplaceRecoveryCodes implements authn.RecoveryCodeStore.
func (s *SQLite) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)`,
				userID, h, ms(at)); err != nil {
				return mapInsertError(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: replace recovery codes: %w", err)
	}
	return nil
}

// ConsumeRecoveryCode implements authn.RecoveryCodeStore.
func (s *SQLite) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) error {
	err := affected(s.write.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ?
		WHERE user_id = ? AND code_hash = ? AND used_at IS NULL`, ms(at), userID, hash))
	if err != nil {
		return fmt.Errorf("store: consume recovery code: %w", err)
	}
	return nil
}

// CountRecoveryCodes implements authn.RecoveryCodeStore.
func (s *SQLite) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL`,
		userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count recovery codes: %w", err)
	}
	return n, nil
}
