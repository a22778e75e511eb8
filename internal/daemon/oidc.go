package daemon

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/authn/store"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/httpapi"
)

var (
	_ oidc.Store = (*store.SQLite)(nil)
	_ oidc.Store = (*store.Postgres)(nil)
)

// buildOIDC builds the OpenID Connect provider when clients are
// registered (nil otherwise). It signs with the access-token keys: one
// key set, published once, rotated once.
//
// watch is the security-event sink authn emits into: the provider is
// attached to it, to tell clients of ended sessions (back-channel logout).
func buildOIDC(cfg config.OIDCConfig, at *httpapi.AccessTokenConfig, st authnStore, risk oidc.Risk, watch *oidc.SessionWatch, clk clock.Clock, log *slog.Logger) (*oidc.Provider, error) {
	if len(cfg.Clients) == 0 && !cfg.Registry {
		return nil, nil
	}
	if at == nil {
		return nil, errors.New("oidc: the provider signs with the access-token keys: enable access tokens (and configure their keys in production)")
	}
	ost, ok := st.(oidc.Store)
	if !ok {
		return nil, errors.New("oidc: the account store does not keep OpenID Connect state")
	}
	keys := make([]oidc.SigningKey, len(at.Keys))
	for i, k := range at.Keys {
		keys[i] = oidc.SigningKey{ID: k.ID, Key: k.Key}
	}
	profiles, _ := st.(oidc.ProfileReader)
	p, err := oidc.New(oidc.Config{Issuer: at.Issuer, Clients: cfg.Clients, Keys: keys, ClientCacheTTL: cfg.ClientCacheTTL},
		oidc.Deps{Store: ost, Users: st, Risk: risk, Events: watch, Sessions: st, Counter: st, Clock: clk, Logger: log, Profiles: profiles})
	if err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	watch.Attach(p)
	log.Info("OpenID Connect provider on", "issuer", p.Issuer(), "clients", len(cfg.Clients))
	return p, nil
}
