package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
)

// The registered OpenID Connect clients and the private_key_jwt
// assertions seen (authn/oidc.ClientStore, oidc.AssertionStore).
const (
	sqliteInsertClient = `INSERT INTO oidc_clients (id, data, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`
	sqliteClientCols   = `id, data, version, created_at, updated_at`
	sqliteClient       = `SELECT ` + sqliteClientCols + ` FROM oidc_clients WHERE id = ?`
	sqliteClients      = `SELECT ` + sqliteClientCols + ` FROM oidc_clients ORDER BY id`
	sqliteUpdateClient = `UPDATE oidc_clients SET data = ?, version = ?, updated_at = ? WHERE id = ? AND version = ?`
	sqliteClientExists = `SELECT count(*) FROM oidc_clients WHERE id = ?`
	sqliteDeleteClient = `DELETE FROM oidc_clients WHERE id = ?`
	// A deleted client's grants end with it: its tokens are revoked, its
	// consents and relying-party sessions go.
	sqliteRevokeClientToks     = `UPDATE oidc_tokens SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL`
	sqliteDeleteClientConsents = `DELETE FROM oidc_consents WHERE client_id = ?`
	sqliteDeleteClientRPs      = `DELETE FROM oidc_rp_sessions WHERE client_id = ?`
	// An assertion id is taken unless the earlier use has expired.
	sqliteUseAssertion = `INSERT INTO oidc_client_assertions (client_id, jti, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at WHERE oidc_client_assertions.expires_at <= ?`
	sqliteSweepAssertions = `DELETE FROM oidc_client_assertions WHERE expires_at <= ?`
	// A relying party's record of a session that no longer exists (ended,
	// expired, or its account erased): back-channel logout read it when
	// the session ended, so the sweeper forgets it.
	sqliteSweepRPSessions = `DELETE FROM oidc_rp_sessions WHERE NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.id = oidc_rp_sessions.session_id)`
)

var _ oidc.ClientStore = (*SQLite)(nil)

// CreateClient implements oidc.ClientStore.
func (s *SQLite) CreateClient(ctx context.Context, r oidc.ClientRecord) error {
	if _, err := s.write.ExecContext(ctx, sqliteInsertClient, r.ID, r.Data, r.Version, ms(r.CreatedAt), ms(r.UpdatedAt)); err != nil {
		return fmt.Errorf("store: create client: %w", mapInsertError(err))
	}
	return nil
}

func scanSQLiteClient(row rowScanner) (oidc.ClientRecord, error) {
	var r oidc.ClientRecord
	var created, updated int64
	if err := row.Scan(&r.ID, &r.Data, &r.Version, &created, &updated); err != nil {
		return r, notFound(err)
	}
	r.CreatedAt, r.UpdatedAt = fromMs(created), fromMs(updated)
	return r, nil
}

// Client implements oidc.ClientStore.
func (s *SQLite) Client(ctx context.Context, id string) (oidc.ClientRecord, error) {
	r, err := scanSQLiteClient(s.read.QueryRowContext(ctx, sqliteClient, id))
	if err != nil {
		return r, fmt.Errorf("store: client: %w", err)
	}
	return r, nil
}

// Clients implements oidc.ClientStore.
func (s *SQLite) Clients(ctx context.Context) ([]oidc.ClientRecord, error) {
	rows, err := s.read.QueryContext(ctx, sqliteClients)
	if err != nil {
		return nil, fmt.Errorf("store: clients: %w", err)
	}
	defer rows.Close()
	var out []oidc.ClientRecord
	for rows.Next() {
		r, err := scanSQLiteClient(rows)
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
func (s *SQLite) UpdateClient(ctx context.Context, r oidc.ClientRecord, prev int64) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		err := affected(tx.ExecContext(ctx, sqliteUpdateClient, r.Data, r.Version, ms(r.UpdatedAt), r.ID, prev))
		if !errors.Is(err, authn.ErrNotFound) {
			return err
		}
		var n int64
		if err := tx.QueryRowContext(ctx, sqliteClientExists, r.ID).Scan(&n); err != nil {
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
func (s *SQLite) DeleteClient(ctx context.Context, id string, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, sqliteDeleteClient, id)); err != nil {
			return err
		}
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{sqliteRevokeClientToks, []any{ms(now), id}},
			{sqliteDeleteClientConsents, []any{id}},
			{sqliteDeleteClientRPs, []any{id}},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
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

var _ oidc.AssertionStore = (*SQLite)(nil)

// UseAssertion implements oidc.AssertionStore.
func (s *SQLite) UseAssertion(ctx context.Context, clientID, jti string, expiresAt, now time.Time) error {
	err := affected(s.write.ExecContext(ctx, sqliteUseAssertion, clientID, jti, ms(expiresAt), ms(now)))
	if errors.Is(err, authn.ErrNotFound) {
		return fmt.Errorf("store: use assertion: %w", authn.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("store: use assertion: %w", err)
	}
	return nil
}
