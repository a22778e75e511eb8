package config

import (
	"time"

	"github.com/riskauth/riskauth/authn/oidc"
)

// OIDCConfig turns riskauth into an OpenID Connect provider for the
// registered clients (authn.oidc in the YAML file; docs/oidc.md). With no
// configured client and registry off the provider is off. It signs with
// the access-token keys, so access tokens must not be disabled.
type OIDCConfig struct {
	// Registry turns the provider on for clients registered through the
	// admin API (/v1/admin/clients), kept in the account store, beside
	// the configured ones (on by itself when there are configured ones).
	Registry bool `yaml:"registry"`
	// Clients is the client registry: see oidc.ClientConfig for the keys
	// (id, name, secret_sha256, redirect_uris, post_logout_redirect_uris,
	// scopes, grant_types, native, first_party, access_token_ttl,
	// id_token_ttl, refresh_token_ttl). Checked when the daemon starts.
	Clients []oidc.ClientConfig `yaml:"clients"`
	// ClientCacheTTL is how long an instance keeps a registered client
	// before reading it again (default oidc.DefaultClientCacheTTL).
	ClientCacheTTL time.Duration `yaml:"client_cache_ttl"`
}
