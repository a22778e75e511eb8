package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

// SaveFlowClient implements authn.FlowClientStore.
func (s *SQLite) SaveFlowClient(ctx context.Context, c authn.FlowClient) error {
	if _, err := s.write.ExecContext(ctx, `INSERT INTO flow_clients (flow_id, ip, user_agent, location, at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (flow_id) DO UPDATE SET ip = excluded.ip, user_agent = excluded.user_agent,
		location = excluded.location, at = excluded.at, expires_at = excluded.expires_at`,
		c.FlowID, c.IP, c.UserAgent, c.Location, ms(c.At), ms(c.ExpiresAt)); err != nil {
		return fmt.Errorf("store: save flow client: %w", err)
	}
	return nil
}

// FlowClient implements authn.FlowClientStore.
func (s *SQLite) FlowClient(ctx context.Context, flowID string, now time.Time) (authn.FlowClient, error) {
	c := authn.FlowClient{FlowID: flowID}
	var at, exp int64
	err := s.read.QueryRowContext(ctx, `SELECT ip, user_agent, location, at, expires_at FROM flow_clients
		WHERE flow_id = ? AND expires_at > ?`, flowID, ms(now)).Scan(&c.IP, &c.UserAgent, &c.Location, &at, &exp)
	if err != nil {
		return authn.FlowClient{}, fmt.Errorf("store: flow client: %w", notFound(err))
	}
	c.At, c.ExpiresAt = fromMs(at), fromMs(exp)
	return c, nil
}
