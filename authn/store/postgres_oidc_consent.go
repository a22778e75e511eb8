package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskauth/riskauth/authn/oidc"
)

// The OpenID Connect consents (authn/oidc.ConsentStore).
const (
	pgSaveConsent = `INSERT INTO oidc_consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`
	pgConsent              = `SELECT user_id, client_id, scopes, granted_at FROM oidc_consents WHERE user_id = $1 AND client_id = $2`
	pgConsents             = `SELECT user_id, client_id, scopes, granted_at FROM oidc_consents WHERE user_id = $1 ORDER BY client_id`
	pgDeleteConsent        = `DELETE FROM oidc_consents WHERE user_id = $1 AND client_id = $2`
	pgRevokeClientOIDCToks = `UPDATE oidc_tokens SET revoked_at = $1 WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL`
)

// SaveConsent implements oidc.ConsentStore.
func (s *Postgres) SaveConsent(ctx context.Context, c oidc.ConsentRecord) error {
	if _, err := s.db.Exec(ctx, pgSaveConsent, c.UserID, c.ClientID, strings.Join(c.Scopes, " "), c.GrantedAt); err != nil {
		return fmt.Errorf("store: save consent: %w", mapInsertError(err))
	}
	return nil
}

func scanPgConsent(row pgx.Row) (oidc.ConsentRecord, error) {
	var c oidc.ConsentRecord
	var scopes string
	if err := row.Scan(&c.UserID, &c.ClientID, &scopes, &c.GrantedAt); err != nil {
		return c, pgNotFound(err)
	}
	c.Scopes, c.GrantedAt = strings.Fields(scopes), c.GrantedAt.UTC()
	return c, nil
}

// Consent implements oidc.ConsentStore.
func (s *Postgres) Consent(ctx context.Context, userID, clientID string) (oidc.ConsentRecord, error) {
	c, err := scanPgConsent(s.db.QueryRow(ctx, pgConsent, userID, clientID))
	if err != nil {
		return c, fmt.Errorf("store: consent: %w", err)
	}
	return c, nil
}

// Consents implements oidc.ConsentStore.
func (s *Postgres) Consents(ctx context.Context, userID string) ([]oidc.ConsentRecord, error) {
	rows, err := s.db.Query(ctx, pgConsents, userID)
	if err != nil {
		return nil, fmt.Errorf("store: consents: %w", err)
	}
	defer rows.Close()
	var out []oidc.ConsentRecord
	for rows.Next() {
		c, err := scanPgConsent(rows)
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
func (s *Postgres) DeleteConsent(ctx context.Context, userID, clientID string, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := pgAffected(tx.Exec(ctx, pgDeleteConsent, userID, clientID)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, pgRevokeClientOIDCToks, now, userID, clientID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete consent: %w", err)
	}
	return nil
}
