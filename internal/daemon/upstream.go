package daemon

import (
	"fmt"
	"log/slog"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/upstream"
	"github.com/riskauth/riskauth/engine/clock"
)

// upstreamProviders builds the configured upstream identity providers,
// each calling back to origin/login/upstream/{name}/callback. Discovery
// waits for the first sign-in, so a provider that is down does not stop
// the daemon.
func upstreamProviders(cfgs []upstream.ProviderConfig, origin string, clk clock.Clock, log *slog.Logger) ([]authn.UpstreamProvider, error) {
	out := make([]authn.UpstreamProvider, 0, len(cfgs))
	for _, c := range cfgs {
		p, err := upstream.New(c, origin+"/login/upstream/"+c.Name+"/callback", nil, clk)
		if err != nil {
			return nil, fmt.Errorf("authn.upstream: %w", err)
		}
		out = append(out, p)
	}
	if len(out) > 0 {
		log.Info("upstream identity providers on", "providers", len(out))
	}
	return out, nil
}
