package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskauth/riskauth/authn"
)

func scanPgTOTP(r rowScanner) (authn.TOTPFactor, error) {
	var (
		f         authn.TOTPFactor
		confirmed *time.Time
	)
	if err := r.Scan(&f.ID, &f.UserID, &f.SealedSecret, &f.CreatedAt, &confirmed, &f.LastUsedStep); err != nil {
		return authn.TOTPFactor{}, err
	}
	f.CreatedAt, f.ConfirmedAt = f.CreatedAt.UTC(), pgTime(confirmed)
	return f, nil
}

// BeginTOTP implements authn.TOTPEnroller.
func (s *Postgres) BeginTOTP(ctx context.Context, f authn.TOTPFactor) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NULL`, f.UserID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO totp_factors (`+totpCols+`) VALUES ($1, $2, $3, $4, NULL, 0)`,
			f.ID, f.UserID, f.SealedSecret, f.CreatedAt)
		return mapInsertError(err)
	})
	if err != nil {
		return fmt.Errorf("store: begin totp: %w", err)
	}
	return nil
}

// PendingTOTP implements authn.TOTPEnroller.
func (s *Postgres) PendingTOTP(ctx context.Context, userID string) (authn.TOTPFactor, error) {
	f, err := scanPgTOTP(s.db.QueryRow(ctx,
		`SELECT `+totpCols+` FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NULL`, userID))
	if err != nil {
		return authn.TOTPFactor{}, fmt.Errorf("store: pending totp: %w", pgNotFound(err))
	}
	return f, nil
}

// ConfirmTOTP implements authn.TOTPEnroller.
func (s *Postgres) ConfirmTOTP(ctx context.Context, userID, factorID string, step int64, at time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL AND id <> $2`,
			userID, factorID); err != nil {
			return err
		}
		return pgAffected(tx.Exec(ctx, `UPDATE totp_factors SET confirmed_at = $1, last_used_step = $2
			WHERE id = $3 AND user_id = $4 AND confirmed_at IS NULL`, at, step, factorID, userID))
	})
	if err != nil {
		return fmt.Errorf("store: confirm totp: %w", mapInsertError(err))
	}
	return nil
}

// ActiveTOTP implements authn.TOTPVerifier.
func (s *Postgres) ActiveTOTP(ctx context.Context, userID string) (authn.TOTPFactor, error) {
	f, err := scanPgTOTP(s.db.QueryRow(ctx,
		`SELECT `+totpCols+` FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL`, userID))
	if err != nil {
		return authn.TOTPFactor{}, fmt.Errorf("store: active totp: %w", pgNotFound(err))
	}
	return f, nil
}

// UseTOTPStep implements authn.TOTPVerifier. Concurrent updates of the row
// queue on its lock, and PostgreSQL re-checks the WHERE clause against the
// winner's version, so exactly one of them matches.
func (s *Postgres) UseTOTPStep(ctx context.Context, factorID string, step int64) error {
	err := pgAffected(s.db.Exec(ctx, `UPDATE totp_factors SET last_used_step = $1
		WHERE id = $2 AND confirmed_at IS NOT NULL AND last_used_step < $1`, step, factorID))
	if errors.Is(err, authn.ErrNotFound) {
		var exists bool
		if err = s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM totp_factors WHERE id = $1 AND confirmed_at IS NOT NULL)`,
			factorID).Scan(&exists); err == nil {
			err = authn.ErrNotFound
			if exists {
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
func (s *Postgres) DeleteTOTP(ctx context.Context, userID, factorID string) error {
	err := pgAffected(s.db.Exec(ctx, `DELETE FROM totp_factors WHERE id = $1 AND user_id = $2`, factorID, userID))
	if err != nil {
		return fmt.Errorf("store: delete totp: %w", err)
	}
	return nil
}

// ReplaceRecoveryCodes implements authn.RecoveryCodeStore.
func (s *Postgres) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		if len(hashes) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash, created_at)
			SELECT $1, h, $3 FROM unnest($2::bytea[]) AS h`, userID, hashes, at)
		return mapInsertError(err)
	})
	if err != nil {
		return fmt.Errorf("store: replace recovery codes: %w", err)
	}
	return nil
}

// ConsumeRecoveryCode implements authn.RecoveryCodeStore.
func (s *Postgres) ConsumeRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) error {
	err := pgAffected(s.db.Exec(ctx, `UPDATE recovery_codes SET used_at = $1
		WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL`, at, userID, hash))
	if err != nil {
		return fmt.Errorf("store: consume recovery code: %w", err)
	}
	return nil
}

// CountRecoveryCodes implements authn.RecoveryCodeStore.
func (s *Postgres) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL`,
		userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count recovery codes: %w", err)
	}
	return n, nil
}
