package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn/oidc"
)

// The device authorization grant's state (authn/oidc.DeviceStore).
const (
	sqlitePurgeDevice  = `DELETE FROM oidc_device_codes WHERE expires_at <= ?`
	sqliteInsertDevice = `INSERT INTO oidc_device_codes (device_code_hash, user_code_hash, client_id, scopes, expires_at, state)
		VALUES (?, ?, ?, ?, ?, 'pending')`
	sqliteDeviceCols     = `device_code_hash, user_code_hash, client_id, scopes, expires_at, last_poll_at, state, user_id, session_id, auth_time, amr`
	sqliteDeviceByUser   = `SELECT ` + sqliteDeviceCols + ` FROM oidc_device_codes WHERE user_code_hash = ? AND expires_at > ? AND state = 'pending'`
	sqliteDeviceByDevice = `SELECT ` + sqliteDeviceCols + ` FROM oidc_device_codes WHERE device_code_hash = ? AND client_id = ?`
	sqliteDecideDevice   = `UPDATE oidc_device_codes SET state = ?, user_id = ?, session_id = ?, auth_time = ?, amr = ?
		WHERE user_code_hash = ? AND expires_at > ? AND state = 'pending'`
	sqlitePollDevice = `UPDATE oidc_device_codes SET last_poll_at = ?,
		state = CASE WHEN state = 'approved' THEN 'consumed' ELSE state END WHERE device_code_hash = ?`
)

func scanSQLiteDevice(row rowScanner) (oidc.DeviceRecord, error) {
	var r oidc.DeviceRecord
	var scopes, state string
	var exp int64
	var poll, at sql.NullInt64
	var uid, sid, amr sql.NullString
	if err := row.Scan(&r.DeviceCodeHash, &r.UserCodeHash, &r.ClientID, &scopes, &exp, &poll, &state, &uid, &sid, &at, &amr); err != nil {
		return r, notFound(err)
	}
	r.Scopes, r.ExpiresAt, r.LastPollAt, r.State = strings.Fields(scopes), fromMs(exp), fromNullMs(poll), oidc.DeviceState(state)
	r.UserID, r.SessionID, r.AuthTime, r.AMR = uid.String, sid.String, fromNullMs(at), strings.Fields(amr.String)
	return r, nil
}

// CreateDeviceAuth implements oidc.DeviceStore.
func (s *SQLite) CreateDeviceAuth(ctx context.Context, r oidc.DeviceRecord, now time.Time) error {
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, sqlitePurgeDevice, ms(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, sqliteInsertDevice, r.DeviceCodeHash, r.UserCodeHash, r.ClientID, strings.Join(r.Scopes, " "), ms(r.ExpiresAt))
		return mapInsertError(err)
	})
	if err != nil {
		return fmt.Errorf("store: create device authorization: %w", err)
	}
	return nil
}

// DeviceAuthByUserCode implements oidc.DeviceStore.
func (s *SQLite) DeviceAuthByUserCode(ctx context.Context, userCodeHash []byte, now time.Time) (oidc.DeviceRecord, error) {
	r, err := scanSQLiteDevice(s.read.QueryRowContext(ctx, sqliteDeviceByUser, userCodeHash, ms(now)))
	if err != nil {
		return r, fmt.Errorf("store: device authorization: %w", err)
	}
	return r, nil
}

// DecideDeviceAuth implements oidc.DeviceStore.
func (s *SQLite) DecideDeviceAuth(ctx context.Context, userCodeHash []byte, d oidc.DeviceRecord, now time.Time) error {
	var at any
	if !d.AuthTime.IsZero() {
		at = ms(d.AuthTime)
	}
	if err := affected(s.write.ExecContext(ctx, sqliteDecideDevice, string(d.State), d.UserID, d.SessionID, at, strings.Join(d.AMR, " "),
		userCodeHash, ms(now))); err != nil {
		return fmt.Errorf("store: decide device authorization: %w", err)
	}
	return nil
}

// PollDeviceAuth implements oidc.DeviceStore.
func (s *SQLite) PollDeviceAuth(ctx context.Context, deviceCodeHash []byte, clientID string, now time.Time) (oidc.DeviceRecord, error) {
	var r oidc.DeviceRecord
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		if r, err = scanSQLiteDevice(tx.QueryRowContext(ctx, sqliteDeviceByDevice, deviceCodeHash, clientID)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, sqlitePollDevice, ms(now), deviceCodeHash)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("store: poll device authorization: %w", err)
	}
	return r, nil
}
