package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskauth/riskauth/authn/oidc"
)

// The OpenID Connect provider's statements (authn/oidc.Store).
const (
	pgInsertAuthRequest = `INSERT INTO oidc_auth_requests (id, client_id, data, expires_at) VALUES ($1, $2, $3, $4)`
	pgOIDCRequestCols   = `id, client_id, data, expires_at, code_hash, code_expires_at, code_used_at`
	pgAuthRequest       = `SELECT ` + pgOIDCRequestCols + ` FROM oidc_auth_requests WHERE id = $1 AND expires_at > $2`
	pgUpdateAuthRequest = `UPDATE oidc_auth_requests SET data = $1 WHERE id = $2 AND expires_at > $3 AND code_hash IS NULL`
	pgDeleteAuthRequest = `DELETE FROM oidc_auth_requests WHERE id = $1`
	pgSaveAuthCode      = `UPDATE oidc_auth_requests SET code_hash = $1, code_expires_at = $2
		WHERE id = $3 AND expires_at > $4 AND code_hash IS NULL`
	pgAuthRequestByCode = `SELECT ` + pgOIDCRequestCols + ` FROM oidc_auth_requests
		WHERE code_hash = $1 AND expires_at > $2 AND code_expires_at > $2`
	pgUseAuthCode = `UPDATE oidc_auth_requests SET code_used_at = $1
		WHERE id = $2 AND code_hash IS NOT NULL AND code_used_at IS NULL AND code_expires_at > $1 AND expires_at > $1`
	pgInsertOIDCToken = `INSERT INTO oidc_tokens (id, kind, hash, family, client_id, user_id, data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	pgOIDCTokenCols    = `id, kind, hash, family, client_id, user_id, data, created_at, expires_at, used_at, revoked_at`
	pgOIDCToken        = `SELECT ` + pgOIDCTokenCols + ` FROM oidc_tokens WHERE id = $1`
	pgOIDCTokenByHash  = `SELECT ` + pgOIDCTokenCols + ` FROM oidc_tokens WHERE hash = $1`
	pgUseRefreshToken  = `UPDATE oidc_tokens SET used_at = $1 WHERE id = $2 AND kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1`
	pgRevokeOIDCToken  = `UPDATE oidc_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`
	pgRevokeOIDCFamily = `UPDATE oidc_tokens SET revoked_at = $1 WHERE family = $2 AND revoked_at IS NULL`
	pgSweepOIDCReqs    = `DELETE FROM oidc_auth_requests WHERE expires_at <= $1`
	pgSweepOIDCTokens  = `DELETE FROM oidc_tokens WHERE expires_at <= $1`
)

var _ oidc.Store = (*Postgres)(nil)

// CreateAuthRequest implements oidc.RequestStore.
func (s *Postgres) CreateAuthRequest(ctx context.Context, r oidc.RequestRecord) error {
	if _, err := s.db.Exec(ctx, pgInsertAuthRequest, r.ID, r.ClientID, r.Data, r.ExpiresAt); err != nil {
		return fmt.Errorf("store: create auth request: %w", mapInsertError(err))
	}
	return nil
}

func scanPgRequest(row pgx.Row) (oidc.RequestRecord, error) {
	var r oidc.RequestRecord
	var codeExp, used *time.Time
	if err := row.Scan(&r.ID, &r.ClientID, &r.Data, &r.ExpiresAt, &r.CodeHash, &codeExp, &used); err != nil {
		return oidc.RequestRecord{}, pgNotFound(err)
	}
	r.ExpiresAt, r.CodeExpiresAt, r.CodeUsedAt = r.ExpiresAt.UTC(), pgTime(codeExp), pgTime(used)
	return r, nil
}

// AuthRequest implements oidc.RequestStore.
func (s *Postgres) AuthRequest(ctx context.Context, id string, now time.Time) (oidc.RequestRecord, error) {
	r, err := scanPgRequest(s.db.QueryRow(ctx, pgAuthRequest, id, now))
	if err != nil {
		return r, fmt.Errorf("store: auth request: %w", err)
	}
	return r, nil
}

// UpdateAuthRequest implements oidc.RequestStore.
func (s *Postgres) UpdateAuthRequest(ctx context.Context, id string, data []byte, now time.Time) error {
	if err := pgAffected(s.db.Exec(ctx, pgUpdateAuthRequest, data, id, now)); err != nil {
		return fmt.Errorf("store: update auth request: %w", err)
	}
	return nil
}

// DeleteAuthRequest implements oidc.RequestStore.
func (s *Postgres) DeleteAuthRequest(ctx context.Context, id string) error {
	if _, err := s.db.Exec(ctx, pgDeleteAuthRequest, id); err != nil {
		return fmt.Errorf("store: delete auth request: %w", err)
	}
	return nil
}

// SaveAuthCode implements oidc.CodeStore.
func (s *Postgres) SaveAuthCode(ctx context.Context, id string, codeHash []byte, expiresAt, now time.Time) error {
	if err := pgAffected(s.db.Exec(ctx, pgSaveAuthCode, codeHash, expiresAt, id, now)); err != nil {
		return fmt.Errorf("store: save auth code: %w", err)
	}
	return nil
}

// AuthRequestByCode implements oidc.CodeStore.
func (s *Postgres) AuthRequestByCode(ctx context.Context, codeHash []byte, now time.Time) (oidc.RequestRecord, error) {
	r, err := scanPgRequest(s.db.QueryRow(ctx, pgAuthRequestByCode, codeHash, now))
	if err != nil {
		return r, fmt.Errorf("store: auth request by code: %w", err)
	}
	return r, nil
}

// UseAuthCode implements oidc.CodeStore.
func (s *Postgres) UseAuthCode(ctx context.Context, id string, now time.Time) error {
	if err := pgAffected(s.db.Exec(ctx, pgUseAuthCode, now, id)); err != nil {
		return fmt.Errorf("store: use auth code: %w", err)
	}
	return nil
}

func pgTokenArgs(t oidc.TokenRecord) []any {
	var hash any
	if t.Hash != nil {
		hash = t.Hash
	}
	return []any{t.ID, string(t.Kind), hash, t.Family, t.ClientID, t.UserID, t.Data, t.CreatedAt, t.ExpiresAt}
}

// InsertToken implements oidc.TokenStore.
func (s *Postgres) InsertToken(ctx context.Context, t oidc.TokenRecord) error {
	if _, err := s.db.Exec(ctx, pgInsertOIDCToken, pgTokenArgs(t)...); err != nil {
		return fmt.Errorf("store: insert oidc token: %w", mapInsertError(err))
	}
	return nil
}

func scanPgOIDCToken(row pgx.Row) (oidc.TokenRecord, error) {
	var t oidc.TokenRecord
	var kind string
	var used, revoked *time.Time
	if err := row.Scan(&t.ID, &kind, &t.Hash, &t.Family, &t.ClientID, &t.UserID, &t.Data, &t.CreatedAt, &t.ExpiresAt, &used, &revoked); err != nil {
		return oidc.TokenRecord{}, pgNotFound(err)
	}
	t.Kind = oidc.TokenKind(kind)
	t.CreatedAt, t.ExpiresAt, t.UsedAt, t.RevokedAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC(), pgTime(used), pgTime(revoked)
	return t, nil
}

// Token implements oidc.TokenStore.
func (s *Postgres) Token(ctx context.Context, id string) (oidc.TokenRecord, error) {
	t, err := scanPgOIDCToken(s.db.QueryRow(ctx, pgOIDCToken, id))
	if err != nil {
		return t, fmt.Errorf("store: oidc token: %w", err)
	}
	return t, nil
}

// RefreshTokenByHash implements oidc.TokenStore.
func (s *Postgres) RefreshTokenByHash(ctx context.Context, hash []byte) (oidc.TokenRecord, error) {
	t, err := scanPgOIDCToken(s.db.QueryRow(ctx, pgOIDCTokenByHash, hash))
	if err != nil {
		return t, fmt.Errorf("store: refresh token: %w", err)
	}
	return t, nil
}

// RotateRefreshToken implements oidc.TokenStore.
func (s *Postgres) RotateRefreshToken(ctx context.Context, oldID string, next oidc.TokenRecord, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := pgAffected(tx.Exec(ctx, pgUseRefreshToken, now, oldID)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, pgInsertOIDCToken, pgTokenArgs(next)...); err != nil {
			return mapInsertError(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: rotate refresh token: %w", err)
	}
	return nil
}

// RevokeTokens implements oidc.TokenStore.
func (s *Postgres) RevokeTokens(ctx context.Context, id, family string, now time.Time) (int64, error) {
	q, arg := pgRevokeOIDCToken, id
	if family != "" {
		q, arg = pgRevokeOIDCFamily, family
	}
	tag, err := s.db.Exec(ctx, q, now, arg)
	if err != nil {
		return 0, fmt.Errorf("store: revoke oidc tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}
