package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn/oidc"
)

// The OpenID Connect consents (authn/oidc.ConsentStore).
const (
	sqliteSaveConsent = `INSERT INTO oidc_consents (user_id, client_id, scopes, granted_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`
	sqliteConsent              = `SELECT user_id, client_id, scopes, granted_at FROM oidc_consents WHERE user_id = ? AND client_id = ?`
	sqliteConsents             = `SELECT user_id, client_id, scopes, granted_at FROM oidc_consents WHERE user_id = ? ORDER BY client_id`
	sqliteDeleteConsent        = `DELETE FROM oidc_consents WHERE user_id = ? AND client_id = ?`
	sqliteRevokeClientOIDCToks = `UPDATE oidc_tokens SET revoked_at = ? WHERE user_id = ? AND client_id = ? AND revoked_at IS NULL`
)

// SaveConsent implements oidc.ConsentStore.
func (s *SQLite) SaveConsent(ctx context.Context, c oidc.ConsentRecord) error {
	if _, err := s.write.ExecContext(ctx, sqliteSaveConsent, c.UserID, c.ClientID, strings.Join(c.Scopes, " "), ms(c.GrantedAt)); err != nil {
		return fmt.Errorf("store: save consent: %w", mapInsertError(err))
	}
	return nil
}

func scanSQLiteConsent(row rowScanner) (oidc.ConsentRecord, error) {
	var c oidc.ConsentRecord
	var scopes string
	var at int64
	if err := row.Scan(&c.UserID, &c.ClientID, &scopes, &at); err != nil {
		return c, notFound(err)
	}
	c.Scopes, c.GrantedAt = strings.Fields(scopes), fromMs(at)
	return c, nil
}

// Consent implements oidc.ConsentStore.
func (s *SQLite) Consent(ctx context.Context, userID, clientID string) (oidc.ConsentRecord, error) {
	c, err := scanSQLiteConsent(s.read.QueryRowContext(ctx, sqliteConsent, userID, clientID))
	if err != nil {
		return c, fmt.Errorf("store: consent: %w", err)
	}
	return c, nil
}

// Consents implements oidc.ConsentStore.
func (s *SQLite) Consents(ctx context.Context, userID string) ([]oidc.ConsentRecord, error) {
	rows, err := s.read.QueryContext(ctx, sqliteConsents, userID)
	if err != nil {
		return nil, fmt.Errorf("store: consents: %w", err)
	}
	defer rows.Close()
	var out []oidc.ConsentRecord
	for rows.Next() {
		c, err := scanSQLiteConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: consents: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: consents: %w", err)
	}
	return out, nil
}

// DeleteConsent implements oidc.ConsentStore.
func (s *SQLite) DeleteConsent(ctx context.Context, userID, clientID string, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, sqliteDeleteConsent, userID, clientID)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, sqliteRevokeClientOIDCToks, ms(now), userID, clientID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete consent: %w", err)
	}
	return nil
}
