package store

import (
	"context"
	"fmt"

	"github.com/riskauth/riskauth/authn/oidc"
)

// The relying parties' sessions, for back-channel logout
// (authn/oidc.RPSessionStore).
const (
	pgAddRPSession = `INSERT INTO oidc_rp_sessions (client_id, session_id, user_id, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (client_id, session_id) DO NOTHING`
	pgRPSessions      = `SELECT client_id, session_id, user_id, created_at FROM oidc_rp_sessions WHERE user_id = $1 ORDER BY created_at, client_id`
	pgDeleteRPSession = `DELETE FROM oidc_rp_sessions WHERE client_id = $1 AND session_id = $2`
)

// AddRPSession implements oidc.RPSessionStore.
func (s *Postgres) AddRPSession(ctx context.Context, r oidc.RPSession) error {
	if _, err := s.db.Exec(ctx, pgAddRPSession, r.ClientID, r.SessionID, r.UserID, r.CreatedAt); err != nil {
		return fmt.Errorf("store: add rp session: %w", err)
	}
	return nil
}

// RPSessions implements oidc.RPSessionStore.
func (s *Postgres) RPSessions(ctx context.Context, userID string) ([]oidc.RPSession, error) {
	rows, err := s.db.Query(ctx, pgRPSessions, userID)
	if err != nil {
		return nil, fmt.Errorf("store: rp sessions: %w", err)
	}
	defer rows.Close()
	var out []oidc.RPSession
	for rows.Next() {
		var r oidc.RPSession
		if err := rows.Scan(&r.ClientID, &r.SessionID, &r.UserID, &r.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: rp sessions: %w", err)
		}
		r.CreatedAt = r.CreatedAt.UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: rp sessions: %w", err)
	}
	return out, nil
}

// DeleteRPSession implements oidc.RPSessionStore.
func (s *Postgres) DeleteRPSession(ctx context.Context, clientID, sessionID string) error {
	if _, err := s.db.Exec(ctx, pgDeleteRPSession, clientID, sessionID); err != nil {
		return fmt.Errorf("store: delete rp session: %w", err)
	}
	return nil
}
