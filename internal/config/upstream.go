package config

import (
	"fmt"
	"strings"
)

// upstreamSecretEnv is the environment variable of the client secret of
// the upstream provider name: RISKAUTH_UPSTREAM_<NAME>_CLIENT_SECRET,
// the name upper-cased with - as _.
func upstreamSecretEnv(name string) string {
	return "RISKAUTH_UPSTREAM_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_CLIENT_SECRET"
}

// applyUpstreamEnv sets each upstream provider's client secret from its
// environment variable, which wins over the file (secrets belong there).
func (a *AuthnConfig) applyUpstreamEnv(env func(string) string) {
	for i := range a.Upstream {
		setEnv(env, upstreamSecretEnv(a.Upstream[i].Name), &a.Upstream[i].ClientSecret)
	}
}

// validateUpstream checks the upstream providers (authn.upstream):
// each by upstream.ProviderConfig.Normalize, names unique.
func (a *AuthnConfig) validateUpstream() []error {
	var errs []error
	seen := map[string]bool{}
	for i := range a.Upstream {
		p := &a.Upstream[i]
		if err := p.Normalize(); err != nil {
			errs = append(errs, fmt.Errorf("authn.upstream[%d]: %w", i, err))
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("authn.upstream[%d]: name %q is used twice", i, p.Name))
		}
		seen[p.Name] = true
	}
	return errs
}
