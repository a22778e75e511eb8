package store

import (
	"context"
	"fmt"

	"github.com/riskauth/riskauth/authn/oidc"
)

// The relying parties' sessions, for back-channel logout
// (authn/oidc.RPSessionStore).
const (
	sqliteAddRPSession = `INSERT INTO oidc_rp_sessions (client_id, session_id, user_id, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (client_id, session_id) DO NOTHING`
	sqliteRPSessions      = `SELECT client_id, session_id, user_id, created_at FROM oidc_rp_sessions WHERE user_id = ? ORDER BY created_at, client_id`
	sqliteDeleteRPSession = `DELETE FROM oidc_rp_sessions WHERE client_id = ? AND session_id = ?`
)

// AddRPSession implements oidc.RPSessionStore.
func (s *SQLite) AddRPSession(ctx context.Context, r oidc.RPSession) error {
	if _, err := s.write.ExecContext(ctx, sqliteAddRPSession, r.ClientID, r.SessionID, r.UserID, ms(r.CreatedAt)); err != nil {
		return fmt.Errorf("store: add rp session: %w", err)
	}
	return nil
}

// RPSessions implements oidc.RPSessionStore.
func (s *SQLite) RPSessions(ctx context.Context, userID string) ([]oidc.RPSession, error) {
	rows, err := s.read.QueryContext(ctx, sqliteRPSessions, userID)
	if err != nil {
		return nil, fmt.Errorf("store: rp sessions: %w", err)
	}
	defer rows.Close()
	var out []oidc.RPSession
	for rows.Next() {
		var r oidc.RPSession
		var at int64
		if err := rows.Scan(&r.ClientID, &r.SessionID, &r.UserID, &at); err != nil {
			return nil, fmt.Errorf("store: rp sessions: %w", err)
		}
		r.CreatedAt = fromMs(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: rp sessions: %w", err)
	}
	return out, nil
}

// DeleteRPSession implements oidc.RPSessionStore.
func (s *SQLite) DeleteRPSession(ctx context.Context, clientID, sessionID string) error {
	if _, err := s.write.ExecContext(ctx, sqliteDeleteRPSession, clientID, sessionID); err != nil {
		return fmt.Errorf("store: delete rp session: %w", err)
	}
	return nil
}
