package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

// sqliteLiveSession is the liveness condition; both parameters are now.
const sqliteLiveSession = `revoked_at IS NULL AND idle_expires_at > ? AND absolute_expires_at > ?`

func scanSQLiteSession(r rowScanner) (authn.Session, error) {
	var (
		x                             authn.Session
		created, seen, idle, abs, aal int64
		revoked                       sql.NullInt64
	)
	if err := r.Scan(&x.ID, &x.TokenHash, &x.UserID, &created, &seen, &idle, &abs,
		&aal, &x.DeviceID, &x.IP, &x.UserAgent, &revoked); err != nil {
		return authn.Session{}, err
	}
	x.CreatedAt, x.LastSeenAt = fromMs(created), fromMs(seen)
	x.IdleExpiresAt, x.AbsoluteExpiresAt = fromMs(idle), fromMs(abs)
	x.AAL, x.RevokedAt = authn.AAL(aal), fromNullMs(revoked)
	return x, nil
}

// CreateSession implements authn.SessionStore.
func (s *SQLite) CreateSession(ctx context.Context, x authn.Session) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.ID, x.TokenHash, x.UserID, ms(x.CreatedAt), ms(x.LastSeenAt), ms(x.IdleExpiresAt), ms(x.AbsoluteExpiresAt),
		int64(x.AAL), x.DeviceID, x.IP, x.UserAgent, nullMs(x.RevokedAt))
	if err != nil {
		return fmt.Errorf("store: create session: %w", mapInsertError(err))
	}
	return nil
}

// SessionByTokenHash implements authn.SessionStore.
func (s *SQLite) SessionByTokenHash(ctx context.Context, tokenHash []byte, now time.Time) (authn.Session, error) {
	x, err := scanSQLiteSession(s.read.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE token_hash = ? AND `+sqliteLiveSession, tokenHash, ms(now), ms(now)))
	if err != nil {
		return authn.Session{}, fmt.Errorf("store: session by token: %w", notFound(err))
	}
	return x, nil
}

// TouchSession implements authn.SessionStore. Deadlines only move forward
// (MAX), so a slow request cannot shorten a session a later one extended,
// and never past the absolute deadline (MIN).
func (s *SQLite) TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error {
	err := affected(s.write.ExecContext(ctx, `UPDATE sessions
		SET last_seen_at = MAX(last_seen_at, ?), idle_expires_at = MIN(MAX(idle_expires_at, ?), absolute_expires_at)
		WHERE id = ? AND `+sqliteLiveSession, ms(now), ms(idleExpiresAt), id, ms(now), ms(now)))
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// RevokeSession implements authn.SessionStore.
func (s *SQLite) RevokeSession(ctx context.Context, userID, id string, at time.Time) error {
	err := affected(s.write.ExecContext(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`,
		ms(at), id, userID))
	if err != nil {
		return fmt.Errorf("store: revoke session: %w", err)
	}
	return nil
}

// ListSessions implements authn.SessionManager.
func (s *SQLite) ListSessions(ctx context.Context, userID string, now time.Time) ([]authn.Session, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = ? AND `+sqliteLiveSession+` ORDER BY last_seen_at DESC, id`, userID, ms(now), ms(now))
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	var out []authn.Session
	for rows.Next() {
		x, err := scanSQLiteSession(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list sessions: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	return out, nil
}

// RevokeOtherSessions implements authn.SessionManager.
func (s *SQLite) RevokeOtherSessions(ctx context.Context, userID, exceptID string, at time.Time) (int, error) {
	res, err := s.write.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND id <> ? AND `+sqliteLiveSession, ms(at), userID, exceptID, ms(at), ms(at))
	if err != nil {
		return 0, fmt.Errorf("store: revoke other sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: revoke other sessions: %w", err)
	}
	return int(n), nil
}

// The sweeper's token and flow statements (see plan_test.go).
const (
	sqliteSweepTokens = `DELETE FROM one_time_tokens WHERE created_at < ?
		AND (used_at IS NOT NULL OR revoked_at IS NOT NULL OR expires_at <= ?)`
	sqliteSweepFlows = `DELETE FROM login_flows WHERE expires_at <= ?`
	// Counted events (authn.EventCounter) and flow clients
	// (authn.FlowClientStore) go with their expiry.
	sqliteSweepEvents      = `DELETE FROM counter_events WHERE expires_at <= ?`
	sqliteSweepFlowClients = `DELETE FROM flow_clients WHERE expires_at <= ?`
)

// DeleteExpired implements authn.Sweeper.
func (s *SQLite) DeleteExpired(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	ctx = withBudget(ctx, SweepTimeout)
	var total int64
	stmts := []struct {
		query string
		args  []any
	}{
		{`DELETE FROM sessions WHERE revoked_at IS NOT NULL OR idle_expires_at <= ? OR absolute_expires_at <= ?`,
			[]any{ms(now), ms(now)}},
		{sqliteSweepTokens, []any{ms(now.Add(-keep)), ms(now)}},
		{sqliteSweepFlows, []any{ms(now)}},
		{sqliteSweepEvents, []any{ms(now)}},
		{sqliteSweepFlowClients, []any{ms(now)}},
		{sqliteSweepOIDCReqs, []any{ms(now)}},
		{sqliteSweepOIDCTokens, []any{ms(now)}},
		{sqliteSweepAssertions, []any{ms(now)}},
		{sqlitePurgeDevice, []any{ms(now)}},
		{sqliteSweepRPSessions, nil},
		{sqliteSweepPasskeyChallenges, []any{ms(now)}},
	}
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, st := range stmts {
			res, err := tx.ExecContext(ctx, st.query, st.args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired: %w", err)
	}
	return total, nil
}

// DeleteAttemptsBefore implements authn.Sweeper.
func (s *SQLite) DeleteAttemptsBefore(ctx context.Context, before time.Time) (int64, error) {
	ctx = withBudget(ctx, SweepTimeout)
	res, err := s.write.ExecContext(ctx, `DELETE FROM login_attempts WHERE at < ?`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("store: delete attempts: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete attempts: %w", err)
	}
	return n, nil
}
