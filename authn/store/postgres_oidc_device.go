package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskauth/riskauth/authn/oidc"
)

// The device authorization grant's state (authn/oidc.DeviceStore).
const (
	pgPurgeDevice  = `DELETE FROM oidc_device_codes WHERE expires_at <= $1`
	pgInsertDevice = `INSERT INTO oidc_device_codes (device_code_hash, user_code_hash, client_id, scopes, expires_at, state)
		VALUES ($1, $2, $3, $4, $5, 'pending')`
	pgDeviceCols     = `device_code_hash, user_code_hash, client_id, scopes, expires_at, last_poll_at, state, user_id, session_id, auth_time, amr`
	pgDeviceByUser   = `SELECT ` + pgDeviceCols + ` FROM oidc_device_codes WHERE user_code_hash = $1 AND expires_at > $2 AND state = 'pending'`
	pgDeviceByDevice = `SELECT ` + pgDeviceCols + ` FROM oidc_device_codes WHERE device_code_hash = $1 AND client_id = $2 FOR UPDATE`
	pgDecideDevice   = `UPDATE oidc_device_codes SET state = $1, user_id = $2, session_id = $3, auth_time = $4, amr = $5
		WHERE user_code_hash = $6 AND expires_at > $7 AND state = 'pending'`
	pgPollDevice = `UPDATE oidc_device_codes SET last_poll_at = $1,
		state = CASE WHEN state = 'approved' THEN 'consumed' ELSE state END WHERE device_code_hash = $2`
)

func scanPgDevice(row pgx.Row) (oidc.DeviceRecord, error) {
	var r oidc.DeviceRecord
	var scopes, state string
	var poll, at *time.Time
	var uid, sid, amr *string
	if err := row.Scan(&r.DeviceCodeHash, &r.UserCodeHash, &r.ClientID, &scopes, &r.ExpiresAt, &poll, &state, &uid, &sid, &at, &amr); err != nil {
		return r, pgNotFound(err)
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	r.Scopes, r.ExpiresAt, r.LastPollAt, r.State = strings.Fields(scopes), r.ExpiresAt.UTC(), pgTime(poll), oidc.DeviceState(state)
	r.UserID, r.SessionID, r.AuthTime, r.AMR = deref(uid), deref(sid), pgTime(at), strings.Fields(deref(amr))
	return r, nil
}

// CreateDeviceAuth implements oidc.DeviceStore.
func (s *Postgres) CreateDeviceAuth(ctx context.Context, r oidc.DeviceRecord, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, pgPurgeDevice, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, pgInsertDevice, r.DeviceCodeHash, r.UserCodeHash, r.ClientID, strings.Join(r.Scopes, " "), r.ExpiresAt)
		return mapInsertError(err)
	})
	if err != nil {
		return fmt.Errorf("store: create device authorization: %w", err)
	}
	return nil
}

// DeviceAuthByUserCode implements oidc.DeviceStore.
func (s *Postgres) DeviceAuthByUserCode(ctx context.Context, userCodeHash []byte, now time.Time) (oidc.DeviceRecord, error) {
	r, err := scanPgDevice(s.db.QueryRow(ctx, pgDeviceByUser, userCodeHash, now))
	if err != nil {
		return r, fmt.Errorf("store: device authorization: %w", err)
	}
	return r, nil
}

// DecideDeviceAuth implements oidc.DeviceStore.
func (s *Postgres) DecideDeviceAuth(ctx context.Context, userCodeHash []byte, d oidc.DeviceRecord, now time.Time) error {
	var at *time.Time
	if !d.AuthTime.IsZero() {
		at = &d.AuthTime
	}
	if err := pgAffected(s.db.Exec(ctx, pgDecideDevice, string(d.State), d.UserID, d.SessionID, at, strings.Join(d.AMR, " "),
		userCodeHash, now)); err != nil {
		return fmt.Errorf("store: decide device authorization: %w", err)
	}
	return nil
}

// PollDeviceAuth implements oidc.DeviceStore.
func (s *Postgres) PollDeviceAuth(ctx context.Context, deviceCodeHash []byte, clientID string, now time.Time) (oidc.DeviceRecord, error) {
	var r oidc.DeviceRecord
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		var err error
		if r, err = scanPgDevice(tx.QueryRow(ctx, pgDeviceByDevice, deviceCodeHash, clientID)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, pgPollDevice, now, deviceCodeHash)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("store: poll device authorization: %w", err)
	}
	return r, nil
}
