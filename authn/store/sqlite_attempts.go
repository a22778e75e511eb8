package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

// errNoUser rejects attempts without an account: there is nothing to lock
// or show, and the velocity counters already see unknown identifiers.
var errNoUser = errors.New("attempt without user id")

// RecordAttempt implements authn.AttemptRecorder.
func (s *SQLite) RecordAttempt(ctx context.Context, a authn.Attempt) error {
	if a.UserID == "" {
		return fmt.Errorf("store: record attempt: %w", errNoUser)
	}
	_, err := s.write.ExecContext(ctx, `INSERT INTO login_attempts (user_id, factor, success, ip, device_id, user_agent, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.UserID, string(a.Factor), boolInt(a.Success), a.IP, a.DeviceID, a.UserAgent, ms(a.At))
	if err != nil {
		return fmt.Errorf("store: record attempt: %w", mapInsertError(err))
	}
	return nil
}

// CountFailures implements authn.FailureCounter.
func (s *SQLite) CountFailures(ctx context.Context, userID string, factor authn.Factor, since time.Time) (int, error) {
	cond, args := `user_id = ?`, []any{userID}
	if factor != "" {
		cond, args = `user_id = ? AND factor = ?`, []any{userID, string(factor)}
	}
	return s.countFailures(ctx, "store: count failures", cond, args, since)
}

// CountFailuresFrom implements authn.FailureCounter.
func (s *SQLite) CountFailuresFrom(ctx context.Context, userID, ip, deviceID string, since time.Time) (int, error) {
	var cond string
	var args []any
	switch {
	case ip != "" && deviceID != "":
		cond, args = `user_id = ? AND (ip = ? OR device_id = ?)`, []any{userID, ip, deviceID}
	case ip != "":
		cond, args = `user_id = ? AND ip = ?`, []any{userID, ip}
	case deviceID != "":
		cond, args = `user_id = ? AND device_id = ?`, []any{userID, deviceID}
	default:
		return 0, nil
	}
	return s.countFailures(ctx, "store: count failures from", cond, args, since)
}

// countFailures counts failures matching cond after the later of since and
// the last success matching cond. cond is a constant from the callers.
func (s *SQLite) countFailures(ctx context.Context, op, cond string, args []any, since time.Time) (int, error) {
	q := `SELECT count(*) FROM login_attempts WHERE ` + cond + ` AND success = 0 AND at >= ?
		AND at > COALESCE((SELECT MAX(at) FROM login_attempts WHERE ` + cond + ` AND success = 1), ?)`
	all := append(append(append(append([]any{}, args...), ms(since)), args...), ms(since)-1)
	var n int
	if err := s.read.QueryRowContext(ctx, q, all...).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	return n, nil
}

// RecentLogins implements authn.LoginHistory.
func (s *SQLite) RecentLogins(ctx context.Context, userID string, limit int) ([]authn.Attempt, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, user_id, factor, success, ip, device_id, user_agent, at
		FROM login_attempts WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: recent logins: %w", err)
	}
	defer rows.Close()
	var out []authn.Attempt
	for rows.Next() {
		var (
			a       authn.Attempt
			factor  string
			success int
			at      int64
		)
		if err := rows.Scan(&a.ID, &a.UserID, &factor, &success, &a.IP, &a.DeviceID, &a.UserAgent, &at); err != nil {
			return nil, fmt.Errorf("store: recent logins: %w", err)
		}
		a.Factor, a.Success, a.At = authn.Factor(factor), success != 0, fromMs(at)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: recent logins: %w", err)
	}
	return out, nil
}
