package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

const pgSweepPasskeyChallenges = `DELETE FROM passkey_challenges WHERE expires_at <= $1`

func scanPgPasskey(r rowScanner) (authn.Passkey, error) {
	var (
		p          authn.Passkey
		count      int64
		transports string
		used       *time.Time
	)
	if err := r.Scan(&p.ID, &p.UserID, &p.Name, &p.PublicKey, &p.AAGUID, &count, &transports, &p.BackupEligible, &p.BackupState,
		&p.AttestationFormat, &p.CreatedAt, &used, &p.CloneWarnings); err != nil {
		return authn.Passkey{}, err
	}
	p.SignCount, p.Transports = uint32(count), splitTransports(transports)
	p.CreatedAt, p.LastUsedAt = p.CreatedAt.UTC(), pgTime(used)
	return p, nil
}

// AddPasskey implements authn.PasskeyStore.
func (s *Postgres) AddPasskey(ctx context.Context, p authn.Passkey) error {
	var used *time.Time
	if !p.LastUsedAt.IsZero() {
		used = &p.LastUsedAt
	}
	_, err := s.db.Exec(ctx, `INSERT INTO passkeys (`+passkeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		p.ID, p.UserID, p.Name, p.PublicKey, p.AAGUID, int64(p.SignCount), joinTransports(p.Transports),
		p.BackupEligible, p.BackupState, p.AttestationFormat, p.CreatedAt, used, p.CloneWarnings)
	if err != nil {
		return fmt.Errorf("store: add passkey: %w", mapInsertError(err))
	}
	return nil
}

// Passkeys implements authn.PasskeyStore.
func (s *Postgres) Passkeys(ctx context.Context, userID string) ([]authn.Passkey, error) {
	rows, err := s.db.Query(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: passkeys: %w", err)
	}
	defer rows.Close()
	var out []authn.Passkey
	for rows.Next() {
		p, err := scanPgPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: passkeys: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: passkeys: %w", err)
	}
	return out, nil
}

// PasskeyByID implements authn.PasskeyStore.
func (s *Postgres) PasskeyByID(ctx context.Context, id []byte) (authn.Passkey, error) {
	p, err := scanPgPasskey(s.db.QueryRow(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE id = $1`, id))
	if err != nil {
		return authn.Passkey{}, fmt.Errorf("store: passkey: %w", pgNotFound(err))
	}
	return p, nil
}

// UsePasskey implements authn.PasskeyStore: GREATEST keeps the higher of
// two concurrent counters (the second update re-reads the row the first
// wrote).
func (s *Postgres) UsePasskey(ctx context.Context, id []byte, u authn.PasskeyUse) error {
	regressed := 0
	if u.Regressed {
		regressed = 1
	}
	err := pgAffected(s.db.Exec(ctx, `UPDATE passkeys SET sign_count = GREATEST(sign_count, $1), backup_state = $2,
		last_used_at = $3, clone_warnings = clone_warnings + $4 WHERE id = $5`,
		int64(u.SignCount), u.BackupState, u.At, regressed, id))
	if err != nil {
		return fmt.Errorf("store: use passkey: %w", err)
	}
	return nil
}

// RenamePasskey implements authn.PasskeyEditor.
func (s *Postgres) RenamePasskey(ctx context.Context, userID string, id []byte, name string) error {
	err := pgAffected(s.db.Exec(ctx, `UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3`, name, id, userID))
	if err != nil {
		return fmt.Errorf("store: rename passkey: %w", err)
	}
	return nil
}

// DeletePasskey implements authn.PasskeyEditor.
func (s *Postgres) DeletePasskey(ctx context.Context, userID string, id []byte) error {
	err := pgAffected(s.db.Exec(ctx, `DELETE FROM passkeys WHERE id = $1 AND user_id = $2`, id, userID))
	if err != nil {
		return fmt.Errorf("store: delete passkey: %w", err)
	}
	return nil
}

// PasskeyOffered implements authn.PasskeyEditor.
func (s *Postgres) PasskeyOffered(ctx context.Context, userID string) (bool, error) {
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM passkey_offers WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: passkey offered: %w", err)
	}
	return n > 0, nil
}

// SetPasskeyOffered implements authn.PasskeyEditor.
func (s *Postgres) SetPasskeyOffered(ctx context.Context, userID string, at time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO passkey_offers (user_id, offered_at) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`,
		userID, at)
	if err != nil {
		return fmt.Errorf("store: set passkey offered: %w", mapInsertError(err))
	}
	return nil
}

// SaveChallenge implements authn.PasskeyChallengeStore.
func (s *Postgres) SaveChallenge(ctx context.Context, c authn.PasskeyChallenge) error {
	_, err := s.db.Exec(ctx, `INSERT INTO passkey_challenges (id, kind, user_id, flow_id, data, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.Kind, c.UserID, c.FlowID, c.Data, c.ExpiresAt)
	if err != nil {
		return fmt.Errorf("store: save passkey challenge: %w", mapInsertError(err))
	}
	return nil
}

// TakeChallenge implements authn.PasskeyChallengeStore: DELETE ...
// RETURNING, so of concurrent takers only the one whose delete found
// the row gets it.
func (s *Postgres) TakeChallenge(ctx context.Context, id string, now time.Time) (authn.PasskeyChallenge, error) {
	var c authn.PasskeyChallenge
	err := s.db.QueryRow(ctx, `DELETE FROM passkey_challenges WHERE id = $1
		RETURNING id, kind, user_id, flow_id, data, expires_at`, id).Scan(&c.ID, &c.Kind, &c.UserID, &c.FlowID, &c.Data, &c.ExpiresAt)
	if err != nil {
		return authn.PasskeyChallenge{}, fmt.Errorf("store: take passkey challenge: %w", pgNotFound(err))
	}
	c.ExpiresAt = c.ExpiresAt.UTC()
	if !now.Before(c.ExpiresAt) {
		return authn.PasskeyChallenge{}, fmt.Errorf("store: take passkey challenge: %w", authn.ErrNotFound)
	}
	return c, nil
}
