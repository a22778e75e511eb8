package store

import (
	"context"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn"
)

// SaveFlowClient implements authn.FlowClientStore.
func (s *Postgres) SaveFlowClient(ctx context.Context, c authn.FlowClient) error {
	if _, err := s.db.Exec(ctx, `INSERT INTO flow_clients (flow_id, ip, user_agent, location, at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (flow_id) DO UPDATE SET ip = excluded.ip, user_agent = excluded.user_agent,
		location = excluded.location, at = excluded.at, expires_at = excluded.expires_at`,
		c.FlowID, c.IP, c.UserAgent, c.Location, c.At, c.ExpiresAt); err != nil {
		return fmt.Errorf("store: save flow client: %w", err)
	}
	return nil
}

// FlowClient implements authn.FlowClientStore.
func (s *Postgres) FlowClient(ctx context.Context, flowID string, now time.Time) (authn.FlowClient, error) {
	c := authn.FlowClient{FlowID: flowID}
	err := s.db.QueryRow(ctx, `SELECT ip, user_agent, location, at, expires_at FROM flow_clients
		WHERE flow_id = $1 AND expires_at > $2`, flowID, now).Scan(&c.IP, &c.UserAgent, &c.Location, &c.At, &c.ExpiresAt)
	if err != nil {
		return authn.FlowClient{}, fmt.Errorf("store: flow client: %w", pgNotFound(err))
	}
	c.At, c.ExpiresAt = c.At.UTC(), c.ExpiresAt.UTC()
	return c, nil
}
