package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskauth/riskauth/authn"
)

func scanPgSession(r rowScanner) (authn.Session, error) {
	var (
		x       authn.Session
		aal     int16
		revoked *time.Time
	)
	if err := r.Scan(&x.ID, &x.TokenHash, &x.UserID, &x.CreatedAt, &x.LastSeenAt, &x.IdleExpiresAt, &x.AbsoluteExpiresAt,
		&aal, &x.DeviceID, &x.IP, &x.UserAgent, &revoked); err != nil {
		return authn.Session{}, err
	}
	x.CreatedAt, x.LastSeenAt = x.CreatedAt.UTC(), x.LastSeenAt.UTC()
	x.IdleExpiresAt, x.AbsoluteExpiresAt = x.IdleExpiresAt.UTC(), x.AbsoluteExpiresAt.UTC()
	x.AAL, x.RevokedAt = authn.AAL(aal), pgTime(revoked)
	return x, nil
}

// CreateSession implements authn.SessionStore.
func (s *Postgres) CreateSession(ctx context.Context, x authn.Session) error {
	_, err := s.db.Exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		x.ID, x.TokenHash, x.UserID, x.CreatedAt, x.LastSeenAt, x.IdleExpiresAt, x.AbsoluteExpiresAt,
		int16(x.AAL), x.DeviceID, x.IP, x.UserAgent, pgNullTime(x.RevokedAt))
	if err != nil {
		return fmt.Errorf("store: create session: %w", mapInsertError(err))
	}
	return nil
}

// SessionByTokenHash implements authn.SessionStore.
func (s *Postgres) SessionByTokenHash(ctx context.Context, tokenHash []byte, now time.Time) (authn.Session, error) {
	x, err := scanPgSession(s.db.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE token_hash = $1 AND revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2`, tokenHash, now))
	if err != nil {
		return authn.Session{}, fmt.Errorf("store: session by token: %w", pgNotFound(err))
	}
	return x, nil
}

// TouchSession implements authn.SessionStore. Deadlines only move forward
// (GREATEST), so a slow request cannot shorten a session a later one
// extended, and never past the absolute deadline (LEAST).
func (s *Postgres) TouchSession(ctx context.Context, id string, now, idleExpiresAt time.Time) error {
	err := pgAffected(s.db.Exec(ctx, `UPDATE sessions
		SET last_seen_at = GREATEST(last_seen_at, $1), idle_expires_at = LEAST(GREATEST(idle_expires_at, $2), absolute_expires_at)
		WHERE id = $3 AND revoked_at IS NULL AND idle_expires_at > $1 AND absolute_expires_at > $1`, now, idleExpiresAt, id))
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// RevokeSession implements authn.SessionStore.
func (s *Postgres) RevokeSession(ctx context.Context, userID, id string, at time.Time) error {
	err := pgAffected(s.db.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL`,
		at, id, userID))
	if err != nil {
		return fmt.Errorf("store: revoke session: %w", err)
	}
	return nil
}

// ListSessions implements authn.SessionManager.
func (s *Postgres) ListSessions(ctx context.Context, userID string, now time.Time) ([]authn.Session, error) {
	rows, err := s.db.Query(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND idle_expires_at > $2 AND absolute_expires_at > $2
		ORDER BY last_seen_at DESC, id`, userID, now)
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (authn.Session, error) { return scanPgSession(r) })
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	return out, nil
}

// RevokeOtherSessions implements authn.SessionManager.
func (s *Postgres) RevokeOtherSessions(ctx context.Context, userID, exceptID string, at time.Time) (int, error) {
	tag, err := s.db.Exec(ctx, `UPDATE sessions SET revoked_at = $1
		WHERE user_id = $2 AND id <> $3 AND revoked_at IS NULL AND idle_expires_at > $1 AND absolute_expires_at > $1`,
		at, userID, exceptID)
	if err != nil {
		return 0, fmt.Errorf("store: revoke other sessions: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// The sweeper's token and flow statements (see plan_test.go).
const (
	pgSweepTokens = `DELETE FROM one_time_tokens WHERE created_at < $1
		AND (used_at IS NOT NULL OR revoked_at IS NOT NULL OR expires_at <= $2)`
	pgSweepFlows = `DELETE FROM login_flows WHERE expires_at <= $1`
	// Counted events (authn.EventCounter) and flow clients
	// (authn.FlowClientStore) go with their expiry.
	pgSweepEvents      = `DELETE FROM counter_events WHERE expires_at <= $1`
	pgSweepFlowClients = `DELETE FROM flow_clients WHERE expires_at <= $1`
)

// DeleteExpired implements authn.Sweeper.
func (s *Postgres) DeleteExpired(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	ctx = withBudget(ctx, SweepTimeout)
	var total int64
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		for _, st := range []struct {
			query string
			args  []any
		}{
			{`DELETE FROM sessions WHERE revoked_at IS NOT NULL OR idle_expires_at <= $1 OR absolute_expires_at <= $1`,
				[]any{now}},
			{pgSweepTokens, []any{now.Add(-keep), now}},
			{pgSweepFlows, []any{now}},
			{pgSweepEvents, []any{now}},
			{pgSweepFlowClients, []any{now}},
			{pgSweepOIDCReqs, []any{now}},
			{pgSweepOIDCTokens, []any{now}},
			{pgSweepAssertions, []any{now}},
			{pgPurgeDevice, []any{now}},
			{pgSweepRPSessions, nil},
			{pgSweepPasskeyChallenges, []any{now}},
		} {
			tag, err := tx.Exec(ctx, st.query, st.args...)
			if err != nil {
				return err
			}
			total += tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete expired: %w", err)
	}
	return total, nil
}

// DeleteAttemptsBefore implements authn.Sweeper.
func (s *Postgres) DeleteAttemptsBefore(ctx context.Context, before time.Time) (int64, error) {
	ctx = withBudget(ctx, SweepTimeout)
	tag, err := s.db.Exec(ctx, `DELETE FROM login_attempts WHERE at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("store: delete attempts: %w", err)
	}
	return tag.RowsAffected(), nil
}
