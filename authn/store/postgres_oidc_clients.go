package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
)

// The registered OpenID Connect clients and the private_key_jwt
// assertions seen (authn/oidc.ClientStore, oidc.AssertionStore).
const (
	pgInsertClient = `INSERT INTO oidc_clients (id, data, version, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`
	pgClientCols   = `id, data, version, created_at, updated_at`
	pgClient       = `SELECT ` + pgClientCols + ` FROM oidc_clients WHERE id = $1`
	pgClients      = `SELECT ` + pgClientCols + ` FROM oidc_clients ORDER BY id`
	pgUpdateClient = `UPDATE oidc_clients SET data = $1, version = $2, updated_at = $3 WHERE id = $4 AND version = $5`
	pgClientExists = `SELECT count(*) FROM oidc_clients WHERE id = $1`
	pgDeleteClient = `DELETE FROM oidc_clients WHERE id = $1`
	// A deleted client's grants end with it: its tokens are revoked, its
	// consents and relying-party sessions go.
	pgRevokeClientToks     = `UPDATE oidc_tokens SET revoked_at = $1 WHERE client_id = $2 AND revoked_at IS NULL`
	pgDeleteClientConsents = `DELETE FROM oidc_consents WHERE client_id = $1`
	pgDeleteClientRPs      = `DELETE FROM oidc_rp_sessions WHERE client_id = $1`
	// An assertion id is taken unless the earlier use has expired.
	pgUseAssertion = `INSERT INTO oidc_client_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE oidc_client_assertions.expires_at <= $4`
	pgSweepAssertions = `DELETE FROM oidc_client_assertions WHERE expires_at <= $1`
	// A relying party's record of a session that no longer exists (ended,
	// expired, or its account erased): back-channel logout read it when
	// the session ended, so the sweeper forgets it.
	pgSweepRPSessions = `DELETE FROM oidc_rp_sessions WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.id = oidc_rp_sessions.session_id)`
)

var _ oidc.ClientStore = (*Postgres)(nil)

// CreateClient implements oidc.ClientStore.
func (s *Postgres) CreateClient(ctx context.Context, r oidc.ClientRecord) error {
	if _, err := s.db.Exec(ctx, pgInsertClient, r.ID, r.Data, r.Version, r.CreatedAt, r.UpdatedAt); err != nil {
		return fmt.Errorf("store: create client: %w", mapInsertError(err))
	}
	return nil
}

func scanPgClient(row pgx.Row) (oidc.ClientRecord, error) {
	var r oidc.ClientRecord
	if err := row.Scan(&r.ID, &r.Data, &r.Version, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return r, pgNotFound(err)
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, nil
}

// Client implements oidc.ClientStore.
func (s *Postgres) Client(ctx context.Context, id string) (oidc.ClientRecord, error) {
	r, err := scanPgClient(s.db.QueryRow(ctx, pgClient, id))
	if err != nil {
		return r, fmt.Errorf("store: client: %w", err)
	}
	return r, nil
}

// Clients implements oidc.ClientStore.
func (s *Postgres) Clients(ctx context.Context) ([]oidc.ClientRecord, error) {
	rows, err := s.db.Query(ctx, pgClients)
	if err != nil {
		return nil, fmt.Errorf("store: clients: %w", err)
	}
	defer rows.Close()
	var out []oidc.ClientRecord
	for rows.Next() {
		r, err := scanPgClient(rows)
		if err != nil {
			return nil, fmt.Errorf("store: clients: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: clients: %w", err)
	}
	return out, nil
}

// UpdateClient implements oidc.ClientStore.
func (s *Postgres) UpdateClient(ctx context.Context, r oidc.ClientRecord, prev int64) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		err := pgAffected(tx.Exec(ctx, pgUpdateClient, r.Data, r.Version, r.UpdatedAt, r.ID, prev))
		if !errors.Is(err, authn.ErrNotFound) {
			return err
		}
		var n int64
		if err := tx.QueryRow(ctx, pgClientExists, r.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return authn.ErrConflict
		}
		return authn.ErrNotFound
	})
	if err != nil {
		return fmt.Errorf("store: update client: %w", err)
	}
	return nil
}

// DeleteClient implements oidc.ClientStore.
func (s *Postgres) DeleteClient(ctx context.Context, id string, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := pgAffected(tx.Exec(ctx, pgDeleteClient, id)); err != nil {
			return err
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{pgRevokeClientToks, []any{now, id}},
			{pgDeleteClientConsents, []any{id}},
			{pgDeleteClientRPs, []any{id}},
		} {
			if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete client: %w", err)
	}
	return nil
}

var _ oidc.AssertionStore = (*Postgres)(nil)

// UseAssertion implements oidc.AssertionStore.
func (s *Postgres) UseAssertion(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error {
	err := pgAffected(s.db.Exec(ctx, pgUseAssertion, clientID, jti, expiresAt, now))
	if errors.Is(err, authn.ErrNotFound) {
		return fmt.Errorf("store: use assertion: %w", authn.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: use assertion: %w", err)
	}
	return nil
}
