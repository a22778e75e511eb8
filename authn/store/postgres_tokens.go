package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskauth/riskauth/authn"
)

// The token statements, one constant each so that the query-plan test
// (plan_test.go) explains exactly what runs.
const (
	// pgSupersedeByUser and pgSupersedeByFlow revoke the live tokens a
	// new one replaces, as two statements for the reason given at
	// sqliteSupersedeByUser: with "user_id = $3 OR flow_id = $4" a
	// generic plan (pgx prepares statements) reads every pending token of
	// the kind. An empty id matches no row and supersedes nothing.
	pgSupersedeByUser = `UPDATE one_time_tokens SET revoked_at = $1
		WHERE user_id = $2 AND kind = $3 AND used_at IS NULL AND revoked_at IS NULL`
	pgSupersedeByFlow = `UPDATE one_time_tokens SET revoked_at = $1
		WHERE kind = $2 AND flow_id = $3 AND used_at IS NULL AND revoked_at IS NULL`
	pgInsertToken = `INSERT INTO one_time_tokens (` + tokenCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, NULL)`
	pgLiveToken   = `SELECT ` + tokenCols + ` FROM one_time_tokens
		WHERE kind = $2 AND hash = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
		ORDER BY created_at DESC LIMIT 1`
	// pgConsumeToken repeats the liveness test outside the subquery: a
	// consumer that lost the row lock re-checks it against the winner's
	// version and updates nothing.
	pgConsumeToken = `UPDATE one_time_tokens SET used_at = $1
		WHERE id = (SELECT id FROM one_time_tokens
		            WHERE kind = $2 AND hash = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
		            ORDER BY created_at DESC LIMIT 1)
		  AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
		RETURNING ` + tokenCols
	pgUseCode = `UPDATE one_time_tokens SET used_at = $1
		WHERE kind = $2 AND flow_id = $3 AND hash = $4 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
		RETURNING ` + tokenCols
	pgMissCode = `UPDATE one_time_tokens SET attempts = attempts + 1,
		revoked_at = CASE WHEN max_attempts > 0 AND attempts + 1 >= max_attempts THEN $1 ELSE revoked_at END
		WHERE kind = $2 AND flow_id = $3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $1
		RETURNING revoked_at IS NOT NULL`
	pgCountTokens = `SELECT count(*) FROM one_time_tokens WHERE user_id = $1 AND kind = $2 AND created_at >= $3`
)

func scanPgToken(r rowScanner) (authn.OneTimeToken, error) {
	var (
		t          authn.OneTimeToken
		kind       string
		user, flow *string
		used       *time.Time
	)
	if err := r.Scan(&t.ID, &kind, &t.Hash, &user, &flow, &t.CreatedAt, &t.ExpiresAt, &t.Attempts, &t.MaxAttempts, &used); err != nil {
		return authn.OneTimeToken{}, err
	}
	if user != nil {
		t.UserID = *user
	}
	if flow != nil {
		t.FlowID = *flow
	}
	t.Kind, t.UsedAt = authn.TokenKind(kind), pgTime(used)
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	return t, nil
}

// IssueToken implements authn.TokenStore.
func (s *Postgres) IssueToken(ctx context.Context, t authn.OneTimeToken) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		// Both statements run whatever t holds, so a token for nobody
		// costs the database what one for an account does.
		if _, err := tx.Exec(ctx, pgSupersedeByUser, t.CreatedAt, t.UserID, string(t.Kind)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, pgSupersedeByFlow, t.CreatedAt, string(t.Kind), t.FlowID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, pgInsertToken,
			t.ID, string(t.Kind), t.Hash, nullStr(t.UserID), nullStr(t.FlowID), t.CreatedAt, t.ExpiresAt, t.MaxAttempts)
		return mapInsertError(err)
	})
	if err != nil {
		return fmt.Errorf("store: issue token: %w", err)
	}
	return nil
}

// LiveToken implements authn.TokenStore.
func (s *Postgres) LiveToken(ctx context.Context, kind authn.TokenKind, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	t, err := scanPgToken(s.db.QueryRow(ctx, pgLiveToken, now, string(kind), hash))
	if errors.Is(err, pgx.ErrNoRows) {
		err = authn.ErrTokenInvalid
	}
	if err != nil {
		return authn.OneTimeToken{}, fmt.Errorf("store: live token: %w", err)
	}
	return t, nil
}

// ConsumeToken implements authn.TokenStore.
func (s *Postgres) ConsumeToken(ctx context.Context, kind authn.TokenKind, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	t, err := scanPgToken(s.db.QueryRow(ctx, pgConsumeToken, now, string(kind), hash))
	if errors.Is(err, pgx.ErrNoRows) {
		err = authn.ErrTokenInvalid
	}
	if err != nil {
		return authn.OneTimeToken{}, fmt.Errorf("store: consume token: %w", err)
	}
	return t, nil
}

// VerifyCode implements authn.TokenStore. Each step is one conditional
// UPDATE, atomic on its own: a right guess consumes the code once, a wrong
// one counts exactly one attempt, whatever runs beside it.
func (s *Postgres) VerifyCode(ctx context.Context, kind authn.TokenKind, flowID string, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	t, err := scanPgToken(s.db.QueryRow(ctx, pgUseCode, now, string(kind), flowID, hash))
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return authn.OneTimeToken{}, fmt.Errorf("store: verify code: %w", err)
	}
	var dead bool
	err = s.db.QueryRow(ctx, pgMissCode, now, string(kind), flowID).Scan(&dead)
	switch {
	case errors.Is(err, pgx.ErrNoRows), err == nil && !dead:
		err = authn.ErrTokenInvalid
	case err == nil:
		err = authn.ErrTooManyAttempts
	}
	return authn.OneTimeToken{}, fmt.Errorf("store: verify code: %w", err)
}

// CountTokensSince implements authn.TokenStore.
func (s *Postgres) CountTokensSince(ctx context.Context, userID string, kind authn.TokenKind, since time.Time) (int, error) {
	var n int
	if err := s.db.QueryRow(ctx, pgCountTokens,
		userID, string(kind), since).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count tokens: %w", err)
	}
	return n, nil
}
