package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

// sqliteTokenIsLive is the liveness condition; the parameter is now.
const sqliteTokenIsLive = `used_at IS NULL AND revoked_at IS NULL AND expires_at > ?`

// The token statements, one constant each so that the query-plan test
// (plan_test.go) explains exactly what runs.
const (
	// sqliteSupersedeByUser and sqliteSupersedeByFlow revoke the live
	// tokens a new one replaces. They are two statements, not one with
	// "user_id = ? OR flow_id = ?": SQLite cannot serve that OR from the
	// user and flow indexes and read every pending token of the kind
	// instead, so requests slowed down as unused tokens piled up (issue
	// 17). They take the ids as strings, not NULL: no row has an empty
	// user or flow id, so an empty one supersedes nothing at the cost of
	// one index probe (with a NULL, an analysed database's planner chose
	// to read the table).
	sqliteSupersedeByUser = `UPDATE one_time_tokens SET revoked_at = ?
		WHERE user_id = ? AND kind = ? AND used_at IS NULL AND revoked_at IS NULL`
	sqliteSupersedeByFlow = `UPDATE one_time_tokens SET revoked_at = ?
		WHERE kind = ? AND flow_id = ? AND used_at IS NULL AND revoked_at IS NULL`
	sqliteInsertToken  = `INSERT INTO one_time_tokens (` + tokenCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, NULL)`
	sqliteConsumeToken = `UPDATE one_time_tokens SET used_at = ?
		WHERE id = (SELECT id FROM one_time_tokens WHERE kind = ? AND hash = ? AND ` + sqliteTokenIsLive + `
		            ORDER BY created_at DESC LIMIT 1)
		RETURNING ` + tokenCols
	sqliteLiveToken = `SELECT ` + tokenCols + ` FROM one_time_tokens
		WHERE kind = ? AND hash = ? AND ` + sqliteTokenIsLive + ` ORDER BY created_at DESC LIMIT 1`
	sqliteUseCode = `UPDATE one_time_tokens SET used_at = ?
		WHERE kind = ? AND flow_id = ? AND hash = ? AND ` + sqliteTokenIsLive + `
		RETURNING ` + tokenCols
	sqliteMissCode = `UPDATE one_time_tokens SET attempts = attempts + 1,
		revoked_at = CASE WHEN max_attempts > 0 AND attempts + 1 >= max_attempts THEN ? ELSE revoked_at END
		WHERE kind = ? AND flow_id = ? AND ` + sqliteTokenIsLive + `
		RETURNING revoked_at IS NOT NULL`
	sqliteCountTokens = `SELECT count(*) FROM one_time_tokens WHERE user_id = ? AND kind = ? AND created_at >= ?`
)

func scanSQLiteToken(r rowScanner) (authn.OneTimeToken, error) {
	var (
		t                authn.OneTimeToken
		kind             string
		user, flow       sql.NullString
		created, expires int64
		used             sql.NullInt64
	)
	if err := r.Scan(&t.ID, &kind, &t.Hash, &user, &flow, &created, &expires, &t.Attempts, &t.MaxAttempts, &used); err != nil {
		return authn.OneTimeToken{}, err
	}
	t.Kind, t.UserID, t.FlowID = authn.TokenKind(kind), user.String, flow.String
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMs(created), fromMs(expires), fromNullMs(used)
	return t, nil
}

// IssueToken implements authn.TokenStore.
func (s *SQLite) IssueToken(ctx context.Context, t authn.OneTimeToken) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// Both statements run whatever t holds, so a token for nobody
		// costs the database what one for an account does.
		if _, err := tx.ExecContext(ctx, sqliteSupersedeByUser, ms(t.CreatedAt), t.UserID, string(t.Kind)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, sqliteSupersedeByFlow, ms(t.CreatedAt), string(t.Kind), t.FlowID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, sqliteInsertToken,
			t.ID, string(t.Kind), t.Hash, nullStr(t.UserID), nullStr(t.FlowID), ms(t.CreatedAt), ms(t.ExpiresAt), t.MaxAttempts)
		return mapInsertError(err)
	})
	if err != nil {
		return fmt.Errorf("store: issue token: %w", err)
	}
	return nil
}

// ConsumeToken implements authn.TokenStore.
func (s *SQLite) ConsumeToken(ctx context.Context, kind authn.TokenKind, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	t, err := scanSQLiteToken(s.write.QueryRowContext(ctx, sqliteConsumeToken, ms(now), string(kind), hash, ms(now)))
	if errors.Is(err, sql.ErrNoRows) {
		err = authn.ErrTokenInvalid
	}
	if err != nil {
		return authn.OneTimeToken{}, fmt.Errorf("store: consume token: %w", err)
	}
	return t, nil
}

// LiveToken implements authn.TokenStore.
func (s *SQLite) LiveToken(ctx context.Context, kind authn.TokenKind, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	t, err := scanSQLiteToken(s.read.QueryRowContext(ctx, sqliteLiveToken, string(kind), hash, ms(now)))
	if errors.Is(err, sql.ErrNoRows) {
		err = authn.ErrTokenInvalid
	}
	if err != nil {
		return authn.OneTimeToken{}, fmt.Errorf("store: live token: %w", err)
	}
	return t, nil
}

// VerifyCode implements authn.TokenStore. Both steps run in one write
// transaction, so a right and a wrong guess cannot interleave; a wrong guess
// is committed (the transaction succeeds) and reported through verdict.
func (s *SQLite) VerifyCode(ctx context.Context, kind authn.TokenKind, flowID string, hash []byte, now time.Time) (authn.OneTimeToken, error) {
	var (
		t       authn.OneTimeToken
		verdict error
	)
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		t, err = scanSQLiteToken(tx.QueryRowContext(ctx, sqliteUseCode, ms(now), string(kind), flowID, hash, ms(now)))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var dead int
		err = tx.QueryRowContext(ctx, sqliteMissCode, ms(now), string(kind), flowID, ms(now)).Scan(&dead)
		switch {
		case errors.Is(err, sql.ErrNoRows), err == nil && dead == 0:
			verdict = authn.ErrTokenInvalid
		case err == nil:
			verdict = authn.ErrTooManyAttempts
		default:
			return err
		}
		return nil
	})
	if err == nil {
		err = verdict
	}
	if err != nil {
		return authn.OneTimeToken{}, fmt.Errorf("store: verify code: %w", err)
	}
	return t, nil
}

// CountTokensSince implements authn.TokenStore.
func (s *SQLite) CountTokensSince(ctx context.Context, userID string, kind authn.TokenKind, since time.Time) (int, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, sqliteCountTokens,
		userID, string(kind), ms(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count tokens: %w", err)
	}
	return n, nil
}
