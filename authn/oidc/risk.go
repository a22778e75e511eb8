package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// Every authorization and every refresh is a risk decision point: the
// engine evaluates an event of its own kind, with the client id as the
// attribute client_id, so rules can tell them apart (event.kind,
// attr.client_id) and the default rules' novelty, velocity and
// automation signals apply to them as to every event. What a decision
// does:
//
//	oidc_authorize  block: the authorization ends with access_denied.
//	                step_up: no single sign-on; the user signs in again
//	                (that sign-in is judged as a login, factors and all).
//	token_refresh   block: the refresh is refused and the family revoked;
//	                the client must authorize again, which is judged in
//	                turn. step_up: the refresh goes on (a confidential
//	                client refreshes from its server, with a library's user
//	                agent, which the default rules step up as automation).
//
// An engine failure fails closed for refreshes (invalid_grant, nothing
// revoked) and for authorizations (an error): neither is worth a token
// without a decision.

// Event kinds the provider asks the engine about.
const (
	EventAuthorize = "oidc_authorize"
	EventRefresh   = "token_refresh"
)

// Risk is the engine as the provider needs it; *engine.Engine implements
// it.
type Risk interface {
	Evaluate(ctx context.Context, ev engine.Event) (*engine.Decision, error)
}

var _ Risk = (*engine.Engine)(nil)

// Client is who makes a request, as the engine sees it.
type Client struct {
	IP        netip.Addr
	UserAgent string
}

type clientKey struct{}

// WithClient attaches the requesting client to ctx (the HTTP layer does,
// for every provider request).
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

func clientOf(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// ErrDenied is an authorization the engine blocked.
var ErrDenied = errors.New("oidc: authorization refused by the risk engine")

// ErrStepUp is an authorization the engine wants a fresh sign-in for.
var ErrStepUp = errors.New("oidc: the risk engine asks for a fresh sign-in")

// evaluate asks the engine about kind for the user; no engine means
// passwordless.
func (s *storage) evaluate(ctx context.Context, kind, userID, clientID string) (risk.Action, error) {
	if s.risk == nil {
		return risk.Passwordless, nil
	}
	c := clientOf(ctx)
	d, err := s.risk.Evaluate(ctx, engine.Event{Kind: kind, UserID: userID, IP: c.IP, UserAgent: c.UserAgent,
		Attributes: map[string]string{"client_id": clientID}, Time: s.clock.Now()})
	if err != nil {
		return risk.Block, fmt.Errorf("oidc: risk evaluation: %w", err)
	}
	if d.Action != risk.Passwordless {
		reasons := make([]string, 0, len(d.Reasons))
		for _, r := range d.Reasons {
			reasons = append(reasons, r.Rule)
		}
		s.log.InfoContext(ctx, "oidc: risk decision", "kind", kind, "client_id", clientID, "user_id", userID,
			"decision", d.Action.String(), "reasons", reasons)
	}
	return d.Action, nil
}
