package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskauth/riskauth/authn"
)

var (
	_ authn.DeviceStore   = (*Postgres)(nil)
	_ authn.ActivityStore = (*Postgres)(nil)
)

var _ authn.SignInRecorder = (*Postgres)(nil)

const pgTouchDevice = `INSERT INTO user_devices (` + deviceCols + `) VALUES ($1, $2, '', $3, $4, $5, $6, $7, $8)
	ON CONFLICT (user_id, device_id) DO UPDATE SET user_agent = excluded.user_agent, ip = excluded.ip,
	city = excluded.city, country = excluded.country, last_seen = greatest(user_devices.last_seen, excluded.last_seen)`

// TouchDevice implements authn.DeviceStore.
func (s *Postgres) TouchDevice(ctx context.Context, d authn.UserDevice) error {
	_, err := s.db.Exec(ctx, pgTouchDevice,
		d.UserID, d.DeviceID, d.UserAgent, d.IP, d.City, d.Country, d.FirstSeen, d.LastSeen)
	if err != nil {
		return fmt.Errorf("store: touch device: %w", mapInsertError(err))
	}
	return nil
}

// Devices implements authn.DeviceStore.
func (s *Postgres) Devices(ctx context.Context, userID string) ([]authn.UserDevice, error) {
	rows, err := s.db.Query(ctx, `SELECT `+deviceCols+` FROM user_devices WHERE user_id = $1 ORDER BY last_seen DESC, device_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: devices: %w", err)
	}
	defer rows.Close()
	var out []authn.UserDevice
	for rows.Next() {
		var d authn.UserDevice
		if err := rows.Scan(&d.UserID, &d.DeviceID, &d.Name, &d.UserAgent, &d.IP, &d.City, &d.Country, &d.FirstSeen, &d.LastSeen); err != nil {
			return nil, fmt.Errorf("store: devices: %w", err)
		}
		d.FirstSeen, d.LastSeen = d.FirstSeen.UTC(), d.LastSeen.UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// RenameDevice implements authn.DeviceStore.
func (s *Postgres) RenameDevice(ctx context.Context, userID, deviceID, name string) error {
	if err := pgAffected(s.db.Exec(ctx, `UPDATE user_devices SET name = $1 WHERE user_id = $2 AND device_id = $3`, name, userID, deviceID)); err != nil {
		return fmt.Errorf("store: rename device: %w", err)
	}
	return nil
}

// DeleteDevice implements authn.DeviceStore.
func (s *Postgres) DeleteDevice(ctx context.Context, userID, deviceID string) error {
	if err := pgAffected(s.db.Exec(ctx, `DELETE FROM user_devices WHERE user_id = $1 AND device_id = $2`, userID, deviceID)); err != nil {
		return fmt.Errorf("store: delete device: %w", err)
	}
	return nil
}

// AddActivity implements authn.ActivityStore: the insert and the trim to
// the user's newest keep entries, in one round trip.
func (s *Postgres) AddActivity(ctx context.Context, a authn.Activity, keep int) error {
	if err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.SendBatch(ctx, activityBatch(&pgx.Batch{}, a, keep)).Close()
	}); err != nil {
		return fmt.Errorf("store: add activity: %w", mapInsertError(err))
	}
	return nil
}

// RecordSignIn implements authn.SignInRecorder: the device upsert and the
// activity entry in one round trip (a batch runs as one implicit
// transaction).
func (s *Postgres) RecordSignIn(ctx context.Context, d authn.UserDevice, a authn.Activity, keep int) error {
	b := &pgx.Batch{}
	b.Queue(pgTouchDevice, d.UserID, d.DeviceID, d.UserAgent, d.IP, d.City, d.Country, d.FirstSeen, d.LastSeen)
	if err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		return tx.SendBatch(ctx, activityBatch(b, a, keep)).Close()
	}); err != nil {
		return fmt.Errorf("store: record sign-in: %w", mapInsertError(err))
	}
	return nil
}

// activityBatch queues the insert of a and the trim to keep on b.
func activityBatch(b *pgx.Batch, a authn.Activity, keep int) *pgx.Batch {
	b.Queue(`INSERT INTO activity (`+activityCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		a.ID, a.UserID, a.At, a.Kind, a.IP, a.City, a.Country, a.DeviceID, a.UserAgent, a.Factor, a.Decision, a.Outcome,
		a.SessionID, a.EvaluationID, pgNullTime(a.DisownedAt))
	if keep > 0 {
		b.Queue(`DELETE FROM activity WHERE id IN (SELECT id FROM activity WHERE user_id = $1 ORDER BY at DESC, id DESC OFFSET $2)`,
			a.UserID, keep)
	}
	return b
}

func scanPgActivity(r rowScanner) (authn.Activity, error) {
	var (
		a        authn.Activity
		disowned *time.Time
	)
	if err := r.Scan(&a.ID, &a.UserID, &a.At, &a.Kind, &a.IP, &a.City, &a.Country, &a.DeviceID, &a.UserAgent, &a.Factor,
		&a.Decision, &a.Outcome, &a.SessionID, &a.EvaluationID, &disowned); err != nil {
		return authn.Activity{}, err
	}
	a.At, a.DisownedAt = a.At.UTC(), pgTime(disowned)
	return a, nil
}

// ListActivity implements authn.ActivityStore.
func (s *Postgres) ListActivity(ctx context.Context, userID string, beforeAt time.Time, beforeID string, limit int) ([]authn.Activity, error) {
	var (
		rows pgx.Rows
		err  error
	)
	if beforeAt.IsZero() {
		rows, err = s.db.Query(ctx, `SELECT `+activityCols+` FROM activity WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2`, userID, limit)
	} else {
		rows, err = s.db.Query(ctx, `SELECT `+activityCols+` FROM activity WHERE user_id = $1 AND (at, id) < ($2, $3)
			ORDER BY at DESC, id DESC LIMIT $4`, userID, beforeAt, beforeID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("store: list activity: %w", err)
	}
	defer rows.Close()
	var out []authn.Activity
	for rows.Next() {
		a, err := scanPgActivity(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list activity: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// ActivityByID implements authn.ActivityStore.
func (s *Postgres) ActivityByID(ctx context.Context, userID, id string) (authn.Activity, error) {
	a, err := scanPgActivity(s.db.QueryRow(ctx, `SELECT `+activityCols+` FROM activity WHERE id = $1 AND user_id = $2`, id, userID))
	if err != nil {
		return authn.Activity{}, fmt.Errorf("store: activity: %w", pgNotFound(err))
	}
	return a, nil
}

// DisownActivity implements authn.ActivityStore.
func (s *Postgres) DisownActivity(ctx context.Context, userID, id string, at time.Time) error {
	err := pgAffected(s.db.Exec(ctx, `UPDATE activity SET disowned_at = $1 WHERE id = $2 AND user_id = $3 AND disowned_at IS NULL`,
		at, id, userID))
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

// DeleteActivityBefore implements authn.ActivityStore under a
// transaction-scoped advisory lock: when another instance holds it, this
// one does nothing (ran false) and leaves the work to it.
func (s *Postgres) DeleteActivityBefore(ctx context.Context, before time.Time, limit int) (n int64, ran bool, err error) {
	err = s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(retentionLockKey)).Scan(&ran); err != nil || !ran {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM activity WHERE id IN (SELECT id FROM activity WHERE at < $1 LIMIT $2)`, before, limit)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("store: activity retention: %w", err)
	}
	return n, ran, nil
}
