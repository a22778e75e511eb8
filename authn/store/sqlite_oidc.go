package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn/oidc"
)

// The OpenID Connect provider's statements (authn/oidc.Store).
const (
	sqliteInsertAuthRequest = `INSERT INTO oidc_auth_requests (id, client_id, data, expires_at) VALUES (?, ?, ?, ?)`
	sqliteOIDCRequestCols   = `id, client_id, data, expires_at, code_hash, code_expires_at, code_used_at`
	sqliteAuthRequest       = `SELECT ` + sqliteOIDCRequestCols + ` FROM oidc_auth_requests WHERE id = ? AND expires_at > ?`
	sqliteUpdateAuthRequest = `UPDATE oidc_auth_requests SET data = ? WHERE id = ? AND expires_at > ? AND code_hash IS NULL`
	sqliteDeleteAuthRequest = `DELETE FROM oidc_auth_requests WHERE id = ?`
	sqliteSaveAuthCode      = `UPDATE oidc_auth_requests SET code_hash = ?, code_expires_at = ?
		WHERE id = ? AND expires_at > ? AND code_hash IS NULL`
	sqliteAuthRequestByCode = `SELECT ` + sqliteOIDCRequestCols + ` FROM oidc_auth_requests
		WHERE code_hash = ? AND expires_at > ? AND code_expires_at > ?`
	sqliteUseAuthCode = `UPDATE oidc_auth_requests SET code_used_at = ?
		WHERE id = ? AND code_hash IS NOT NULL AND code_used_at IS NULL AND code_expires_at > ? AND expires_at > ?`
	sqliteInsertOIDCToken = `INSERT INTO oidc_tokens (id, kind, hash, family, client_id, user_id, data, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqliteOIDCTokenCols    = `id, kind, hash, family, client_id, user_id, data, created_at, expires_at, used_at, revoked_at`
	sqliteOIDCToken        = `SELECT ` + sqliteOIDCTokenCols + ` FROM oidc_tokens WHERE id = ?`
	sqliteOIDCTokenByHash  = `SELECT ` + sqliteOIDCTokenCols + ` FROM oidc_tokens WHERE hash = ?`
	sqliteUseRefreshToken  = `UPDATE oidc_tokens SET used_at = ? WHERE id = ? AND kind = 'refresh' AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?`
	sqliteRevokeOIDCToken  = `UPDATE oidc_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`
	sqliteRevokeOIDCFamily = `UPDATE oidc_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL`
	sqliteSweepOIDCReqs    = `DELETE FROM oidc_auth_requests WHERE expires_at <= ?`
	sqliteSweepOIDCTokens  = `DELETE FROM oidc_tokens WHERE expires_at <= ?`
)

var _ oidc.Store = (*SQLite)(nil)

// CreateAuthRequest implements oidc.RequestStore.
func (s *SQLite) CreateAuthRequest(ctx context.Context, r oidc.RequestRecord) error {
	if _, err := s.write.ExecContext(ctx, sqliteInsertAuthRequest, r.ID, r.ClientID, r.Data, ms(r.ExpiresAt)); err != nil {
		return fmt.Errorf("store: create auth request: %w", mapInsertError(err))
	}
	return nil
}

func scanSQLiteRequest(row rowScanner) (oidc.RequestRecord, error) {
	var r oidc.RequestRecord
	var exp int64
	var codeExp, used sql.NullInt64
	if err := row.Scan(&r.ID, &r.ClientID, &r.Data, &exp, &r.CodeHash, &codeExp, &used); err != nil {
		return oidc.RequestRecord{}, notFound(err)
	}
	r.ExpiresAt, r.CodeExpiresAt, r.CodeUsedAt = fromMs(exp), fromNullMs(codeExp), fromNullMs(used)
	return r, nil
}

// AuthRequest implements oidc.RequestStore.
func (s *SQLite) AuthRequest(ctx context.Context, id string, now time.Time) (oidc.RequestRecord, error) {
	r, err := scanSQLiteRequest(s.read.QueryRowContext(ctx, sqliteAuthRequest, id, ms(now)))
	if err != nil {
		return r, fmt.Errorf("store: auth request: %w", err)
	}
	return r, nil
}

// UpdateAuthRequest implements oidc.RequestStore.
func (s *SQLite) UpdateAuthRequest(ctx context.Context, id string, data []byte, now time.Time) error {
	if err := affected(s.write.ExecContext(ctx, sqliteUpdateAuthRequest, data, id, ms(now))); err != nil {
		return fmt.Errorf("store: update auth request: %w", err)
	}
	return nil
}

// DeleteAuthRequest implements oidc.RequestStore.
func (s *SQLite) DeleteAuthRequest(ctx context.Context, id string) error {
	if _, err := s.write.ExecContext(ctx, sqliteDeleteAuthRequest, id); err != nil {
		return fmt.Errorf("store: delete auth request: %w", err)
	}
	return nil
}

// SaveAuthCode implements oidc.CodeStore.
func (s *SQLite) SaveAuthCode(ctx context.Context, id string, codeHash []byte, expiresAt, now time.Time) error {
	if err := affected(s.write.ExecContext(ctx, sqliteSaveAuthCode, codeHash, ms(expiresAt), id, ms(now))); err != nil {
		return fmt.Errorf("store: save auth code: %w", err)
	}
	return nil
}

// AuthRequestByCode implements oidc.CodeStore.
func (s *SQLite) AuthRequestByCode(ctx context.Context, codeHash []byte, now time.Time) (oidc.RequestRecord, error) {
	r, err := scanSQLiteRequest(s.read.QueryRowContext(ctx, sqliteAuthRequestByCode, codeHash, ms(now), ms(now)))
	if err != nil {
		return r, fmt.Errorf("store: auth request by code: %w", err)
	}
	return r, nil
}

// UseAuthCode implements oidc.CodeStore.
func (s *SQLite) UseAuthCode(ctx context.Context, id string, now time.Time) error {
	if err := affected(s.write.ExecContext(ctx, sqliteUseAuthCode, ms(now), id, ms(now), ms(now))); err != nil {
		return fmt.Errorf("store: use auth code: %w", err)
	}
	return nil
}

func insertSQLiteToken(ctx context.Context, ex interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, t oidc.TokenRecord) error {
	var hash any
	if t.Hash != nil {
		hash = t.Hash
	}
	_, err := ex.ExecContext(ctx, sqliteInsertOIDCToken, t.ID, string(t.Kind), hash, t.Family, t.ClientID, t.UserID, t.Data,
		ms(t.CreatedAt), ms(t.ExpiresAt))
	if err != nil {
		return mapInsertError(err)
	}
	return nil
}

// InsertToken implements oidc.TokenStore.
func (s *SQLite) InsertToken(ctx context.Context, t oidc.TokenRecord) error {
	if err := insertSQLiteToken(ctx, s.write, t); err != nil {
		return fmt.Errorf("store: insert oidc token: %w", err)
	}
	return nil
}

func scanSQLiteOIDCToken(row rowScanner) (oidc.TokenRecord, error) {
	var t oidc.TokenRecord
	var kind string
	var created, exp int64
	var used, revoked sql.NullInt64
	if err := row.Scan(&t.ID, &kind, &t.Hash, &t.Family, &t.ClientID, &t.UserID, &t.Data, &created, &exp, &used, &revoked); err != nil {
		return oidc.TokenRecord{}, notFound(err)
	}
	t.Kind = oidc.TokenKind(kind)
	t.CreatedAt, t.ExpiresAt, t.UsedAt, t.RevokedAt = fromMs(created), fromMs(exp), fromNullMs(used), fromNullMs(revoked)
	return t, nil
}

// Token implements oidc.TokenStore.
func (s *SQLite) Token(ctx context.Context, id string) (oidc.TokenRecord, error) {
	t, err := scanSQLiteOIDCToken(s.read.QueryRowContext(ctx, sqliteOIDCToken, id))
	if err != nil {
		return t, fmt.Errorf("store: oidc token: %w", err)
	}
	return t, nil
}

// RefreshTokenByHash implements oidc.TokenStore.
func (s *SQLite) RefreshTokenByHash(ctx context.Context, hash []byte) (oidc.TokenRecord, error) {
	t, err := scanSQLiteOIDCToken(s.read.QueryRowContext(ctx, sqliteOIDCTokenByHash, hash))
	if err != nil {
		return t, fmt.Errorf("store: refresh token: %w", err)
	}
	return t, nil
}

// RotateRefreshToken implements oidc.TokenStore.
func (s *SQLite) RotateRefreshToken(ctx context.Context, oldID string, next oidc.TokenRecord, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := affected(tx.ExecContext(ctx, sqliteUseRefreshToken, ms(now), oldID, ms(now))); err != nil {
			return err
		}
		return insertSQLiteToken(ctx, tx, next)
	})
	if err != nil {
		return fmt.Errorf("store: rotate refresh token: %w", err)
	}
	return nil
}

// RevokeTokens implements oidc.TokenStore.
func (s *SQLite) RevokeTokens(ctx context.Context, id, family string, now time.Time) (int64, error) {
	q, arg := sqliteRevokeOIDCToken, id
	if family != "" {
		q, arg = sqliteRevokeOIDCFamily, family
	}
	res, err := s.write.ExecContext(ctx, q, ms(now), arg)
	if err != nil {
		return 0, fmt.Errorf("store: revoke oidc tokens: %w", err)
	}
	return res.RowsAffected()
}
