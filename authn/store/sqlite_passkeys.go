package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

const sqliteSweepPasskeyChallenges = `DELETE FROM passkey_challenges WHERE expires_at <= ?`

func scanSQLitePasskey(r rowScanner) (authn.Passkey, error) {
	var (
		p          authn.Passkey
		count      int64
		transports string
		be, bs     int
		created    int64
		used       sql.NullInt64
	)
	if err := r.Scan(&p.ID, &p.UserID, &p.Name, &p.PublicKey, &p.AAGUID, &count, &transports, &be, &bs,
		&p.AttestationFormat, &created, &used, &p.CloneWarnings); err != nil {
		return authn.Passkey{}, err
	}
	p.SignCount, p.Transports = uint32(count), splitTransports(transports)
	p.BackupEligible, p.BackupState = be != 0, bs != 0
	p.CreatedAt, p.LastUsedAt = fromMs(created), fromNullMs(used)
	return p, nil
}

// AddPasskey implements authn.PasskeyStore.
func (s *SQLite) AddPasskey(ctx context.Context, p authn.Passkey) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO passkeys (`+passkeyCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.UserID, p.Name, p.PublicKey, p.AAGUID, int64(p.SignCount), joinTransports(p.Transports),
		boolInt(p.BackupEligible), boolInt(p.BackupState), p.AttestationFormat, ms(p.CreatedAt), nullMs(p.LastUsedAt), p.CloneWarnings)
	if err != nil {
		return fmt.Errorf("store: add passkey: %w", mapInsertError(err))
	}
	return nil
}

// Passkeys implements authn.PasskeyStore.
func (s *SQLite) Passkeys(ctx context.Context, userID string) ([]authn.Passkey, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: passkeys: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []authn.Passkey
	for rows.Next() {
		p, err := scanSQLitePasskey(rows)
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
func (s *SQLite) PasskeyByID(ctx context.Context, id []byte) (authn.Passkey, error) {
	p, err := scanSQLitePasskey(s.read.QueryRowContext(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE id = ?`, id))
	if err != nil {
		return authn.Passkey{}, fmt.Errorf("store: passkey: %w", notFound(err))
	}
	return p, nil
}

// UsePasskey implements authn.PasskeyStore: max() keeps the higher of
// two concurrent counters, whichever writes last.
func (s *SQLite) UsePasskey(ctx context.Context, id []byte, u authn.PasskeyUse) error {
	err := affected(s.write.ExecContext(ctx, `UPDATE passkeys SET sign_count = max(sign_count, ?), backup_state = ?,
		last_used_at = ?, clone_warnings = clone_warnings + ? WHERE id = ?`,
		int64(u.SignCount), boolInt(u.BackupState), ms(u.At), boolInt(u.Regressed), id))
	if err != nil {
		return fmt.Errorf("store: use passkey: %w", err)
	}
	return nil
}

// RenamePasskey implements authn.PasskeyEditor.
func (s *SQLite) RenamePasskey(ctx context.Context, userID string, id []byte, name string) error {
	err := affected(s.write.ExecContext(ctx, `UPDATE passkeys SET name = ? WHERE id = ? AND user_id = ?`, name, id, userID))
	if err != nil {
		return fmt.Errorf("store: rename passkey: %w", err)
	}
	return nil
}

// DeletePasskey implements authn.PasskeyEditor.
func (s *SQLite) DeletePasskey(ctx context.Context, userID string, id []byte) error {
	err := affected(s.write.ExecContext(ctx, `DELETE FROM passkeys WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return fmt.Errorf("store: delete passkey: %w", err)
	}
	return nil
}

// PasskeyOffered implements authn.PasskeyEditor.
func (s *SQLite) PasskeyOffered(ctx context.Context, userID string) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM passkey_offers WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: passkey offered: %w", err)
	}
	return n > 0, nil
}

// SetPasskeyOffered implements authn.PasskeyEditor.
func (s *SQLite) SetPasskeyOffered(ctx context.Context, userID string, at time.Time) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO passkey_offers (user_id, offered_at) VALUES (?, ?) ON CONFLICT (user_id) DO NOTHING`,
		userID, ms(at))
	if err != nil {
		return fmt.Errorf("store: set passkey offered: %w", mapInsertError(err))
	}
	return nil
}

// SaveChallenge implements authn.PasskeyChallengeStore.
func (s *SQLite) SaveChallenge(ctx context.Context, c authn.PasskeyChallenge) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO passkey_challenges (id, kind, user_id, flow_id, data, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`, c.ID, c.Kind, c.UserID, c.FlowID, c.Data, ms(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: save passkey challenge: %w", mapInsertError(err))
	}
	return nil
}

// TakeChallenge implements authn.PasskeyChallengeStore: one DELETE ...
// RETURNING on the single writer connection, so one taker gets it.
func (s *SQLite) TakeChallenge(ctx context.Context, id string, now time.Time) (authn.PasskeyChallenge, error) {
	var (
		c   authn.PasskeyChallenge
		exp int64
	)
	err := s.write.QueryRowContext(ctx, `DELETE FROM passkey_challenges WHERE id = ?
		RETURNING id, kind, user_id, flow_id, data, expires_at`, id).Scan(&c.ID, &c.Kind, &c.UserID, &c.FlowID, &c.Data, &exp)
	if err != nil {
		return authn.PasskeyChallenge{}, fmt.Errorf("store: take passkey challenge: %w", notFound(err))
	}
	c.ExpiresAt = fromMs(exp)
	if !now.Before(c.ExpiresAt) {
		return authn.PasskeyChallenge{}, fmt.Errorf("store: take passkey challenge: %w", authn.ErrNotFound)
	}
	return c, nil
}
