package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riskauth/riskauth/authn"
)

// RecordAttempt implements authn.AttemptRecorder.
func (s *Postgres) RecordAttempt(ctx context.Context, a authn.Attempt) error {
	if a.UserID == "" {
		return fmt.Errorf("store: record attempt: %w", errNoUser)
	}
	_, err := s.db.Exec(ctx, `INSERT INTO login_attempts (user_id, factor, success, ip, device_id, user_agent, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.UserID, string(a.Factor), a.Success, a.IP, a.DeviceID, a.UserAgent, a.At)
	if err != nil {
		return fmt.Errorf("store: record attempt: %w", mapInsertError(err))
	}
	return nil
}

// CountFailures implements authn.FailureCounter.
func (s *Postgres) CountFailures(ctx context.Context, userID string, factor authn.Factor, since time.Time) (int, error) {
	cond := `user_id = $1`
	args := []any{userID, since}
	if factor != "" {
		cond = `user_id = $1 AND factor = $3`
		args = append(args, string(factor))
	}
	return s.countFailures(ctx, "store: count failures", cond, args)
}

// CountFailuresFrom implements authn.FailureCounter.
func (s *Postgres) CountFailuresFrom(ctx context.Context, userID, ip, deviceID string, since time.Time) (int, error) {
	var cond string
	args := []any{userID, since}
	switch {
	case ip != "" && deviceID != "":
		cond, args = `user_id = $1 AND (ip = $3 OR device_id = $4)`, append(args, ip, deviceID)
	case ip != "":
		cond, args = `user_id = $1 AND ip = $3`, append(args, ip)
	case deviceID != "":
		cond, args = `user_id = $1 AND device_id = $3`, append(args, deviceID)
	default:
		return 0, nil
	}
	return s.countFailures(ctx, "store: count failures from", cond, args)
}

// countFailures counts failures matching cond after the later of since and
// the last success matching cond. args are (userID, since, cond's other
// parameters from $3); cond is a constant from the callers.
func (s *Postgres) countFailures(ctx context.Context, op, cond string, args []any) (int, error) {
	q := `SELECT count(*) FROM login_attempts WHERE ` + cond + ` AND NOT success AND at >= $2
		AND at > COALESCE((SELECT max(at) FROM login_attempts WHERE ` + cond + ` AND success), '-infinity')`
	var n int
	if err := s.db.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return n, nil
}

// RecentLogins implements authn.LoginHistory.
func (s *Postgres) RecentLogins(ctx context.Context, userID string, limit int) ([]authn.Attempt, error) {
	rows, err := s.db.Query(ctx, `SELECT id, user_id, factor, success, ip, device_id, user_agent, at
		FROM login_attempts WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: recent logins: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (authn.Attempt, error) {
		var (
			a      authn.Attempt
			factor string
		)
		if err := r.Scan(&a.ID, &a.UserID, &factor, &a.Success, &a.IP, &a.DeviceID, &a.UserAgent, &a.At); err != nil {
			return authn.Attempt{}, err
		}
		a.Factor, a.At = authn.Factor(factor), a.At.UTC()
		return a, nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: recent logins: %w", err)
	}
	return out, nil
}
