package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

var (
	_ authn.DeviceStore   = (*SQLite)(nil)
	_ authn.ActivityStore = (*SQLite)(nil)
)

var _ authn.SignInRecorder = (*SQLite)(nil)

const sqliteTouchDevice = `INSERT INTO user_devices (` + deviceCols + `) VALUES (?, ?, '', ?, ?, ?, ?, ?, ?)
	ON CONFLICT (user_id, device_id) DO UPDATE SET user_agent = excluded.user_agent, ip = excluded.ip,
	city = excluded.city, country = excluded.country, last_seen = max(last_seen, excluded.last_seen)`

// TouchDevice implements authn.DeviceStore.
func (s *SQLite) TouchDevice(ctx context.Context, d authn.UserDevice) error {
	_, err := s.write.ExecContext(ctx, sqliteTouchDevice,
		d.UserID, d.DeviceID, d.UserAgent, d.IP, d.City, d.Country, ms(d.FirstSeen), ms(d.LastSeen))
	if err != nil {
		return fmt.Errorf("store: touch device: %w", mapInsertError(err))
	}
	return nil
}

// Devices implements authn.DeviceStore.
func (s *SQLite) Devices(ctx context.Context, userID string) ([]authn.UserDevice, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+deviceCols+` FROM user_devices WHERE user_id = ? ORDER BY last_seen DESC, device_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: devices: %w", err)
	}
	defer rows.Close()
	var out []authn.UserDevice
	for rows.Next() {
		var (
			d           authn.UserDevice
			first, last int64
		)
		if err := rows.Scan(&d.UserID, &d.DeviceID, &d.Name, &d.UserAgent, &d.IP, &d.City, &d.Country, &first, &last); err != nil {
			return nil, fmt.Errorf("store: devices: %w", err)
		}
		d.FirstSeen, d.LastSeen = fromMs(first), fromMs(last)
		out = append(out, d)
	}
	return out, rows.Err()
}

// RenameDevice implements authn.DeviceStore.
func (s *SQLite) RenameDevice(ctx context.Context, userID, deviceID, name string) error {
	if err := affected(s.write.ExecContext(ctx, `UPDATE user_devices SET name = ? WHERE user_id = ? AND device_id = ?`, name, userID, deviceID)); err != nil {
		return fmt.Errorf("store: rename device: %w", err)
	}
	return nil
}

// DeleteDevice implements authn.DeviceStore.
func (s *SQLite) DeleteDevice(ctx context.Context, userID, deviceID string) error {
	if err := affected(s.write.ExecContext(ctx, `DELETE FROM user_devices WHERE user_id = ? AND device_id = ?`, userID, deviceID)); err != nil {
		return fmt.Errorf("store: delete device: %w", err)
	}
	return nil
}

// AddActivity implements authn.ActivityStore: the insert and the trim to
// the user's newest keep entries, in one transaction.
func (s *SQLite) AddActivity(ctx context.Context, a authn.Activity, keep int) error {
	if err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return sqliteAddActivity(ctx, tx, a, keep) }); err != nil {
		return fmt.Errorf("store: add activity: %w", err)
	}
	return nil
}

// RecordSignIn implements authn.SignInRecorder: the device upsert and the
// activity entry in one transaction.
func (s *SQLite) RecordSignIn(ctx context.Context, d authn.UserDevice, a authn.Activity, keep int) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqliteTouchDevice,
			d.UserID, d.DeviceID, d.UserAgent, d.IP, d.City, d.Country, ms(d.FirstSeen), ms(d.LastSeen)); err != nil {
			return mapInsertError(err)
		}
		return sqliteAddActivity(ctx, tx, a, keep)
	})
	if err != nil {
		return fmt.Errorf("store: record sign-in: %w", err)
	}
	return nil
}

// sqliteAddActivity inserts a and trims the user's history to keep.
func sqliteAddActivity(ctx context.Context, tx *sql.Tx, a authn.Activity, keep int) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO activity (`+activityCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.UserID, ms(a.At), a.Kind, a.IP, a.City, a.Country, a.DeviceID, a.UserAgent, a.Factor, a.Decision, a.Outcome,
		a.SessionID, a.EvaluationID, nullMs(a.DisownedAt)); err != nil {
		return mapInsertError(err)
	}
	if keep <= 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM activity WHERE id IN (SELECT id FROM activity WHERE user_id = ?
		ORDER BY at DESC, id DESC LIMIT -1 OFFSET ?)`, a.UserID, keep)
	return err
}

func scanSQLiteActivity(r rowScanner) (authn.Activity, error) {
	var (
		a        authn.Activity
		at       int64
		disowned sql.NullInt64
	)
	if err := r.Scan(&a.ID, &a.UserID, &at, &a.Kind, &a.IP, &a.City, &a.Country, &a.DeviceID, &a.UserAgent, &a.Factor,
		&a.Decision, &a.Outcome, &a.SessionID, &a.EvaluationID, &disowned); err != nil {
		return authn.Activity{}, err
	}
	a.At, a.DisownedAt = fromMs(at), fromNullMs(disowned)
	return a, nil
}

// ListActivity implements authn.ActivityStore.
func (s *SQLite) ListActivity(ctx context.Context, userID string, beforeAt time.Time, beforeID string, limit int) ([]authn.Activity, error) {
	q, args := `SELECT `+activityCols+` FROM activity WHERE user_id = ?`, []any{userID}
	if !beforeAt.IsZero() {
		q += ` AND (at < ? OR (at = ? AND id < ?))`
		args = append(args, ms(beforeAt), ms(beforeAt), beforeID)
	}
	rows, err := s.read.QueryContext(ctx, q+` ORDER BY at DESC, id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: list activity: %w", err)
	}
	defer rows.Close()
	var out []authn.Activity
	for rows.Next() {
		a, err := scanSQLiteActivity(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list activity: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ActivityByID implements authn.ActivityStore.
func (s *SQLite) ActivityByID(ctx context.Context, userID, id string) (authn.Activity, error) {
	a, err := scanSQLiteActivity(s.read.QueryRowContext(ctx, `SELECT `+activityCols+` FROM activity WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return authn.Activity{}, fmt.Errorf("store: activity: %w", notFound(err))
	}
	return a, nil
}

// DisownActivity implements authn.ActivityStore.
func (s *SQLite) DisownActivity(ctx context.Context, userID, id string, at time.Time) error {
	err := affected(s.write.ExecContext(ctx, `UPDATE activity SET disowned_at = ? WHERE id = ? AND user_id = ? AND disowned_at IS NULL`,
		ms(at), id, userID))
	if errors.Is(err, authn.ErrNotFound) {
		if _, gerr := s.ActivityByID(ctx, userID, id); gerr == nil {
			err = authn.ErrConflict
		}
	}
	if err != nil {
		return fmt.Errorf("store: disown activity: %w", err)
	}
	return nil
}

// DeleteActivityBefore implements authn.ActivityStore. SQLite is one
// process's file: no other instance can hold the retention lock.
func (s *SQLite) DeleteActivityBefore(ctx context.Context, before time.Time, limit int) (int64, bool, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM activity WHERE id IN (SELECT id FROM activity WHERE at < ? LIMIT ?)`, ms(before), limit)
	if err != nil {
		return 0, true, fmt.Errorf("store: activity retention: %w", err)
	}
	n, err := res.RowsAffected()
	return n, true, err
}
