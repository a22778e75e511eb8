package config

import "github.com/riskauth/riskauth/authn/oidc"

// OIDCConfig turns riskauth into an OpenID Connect provider for the
// registered clients (authn.oidc in the YAML file; docs/oidc.md). With no
// client the provider is off. It signs with the access-token keys, so
// access tokens must not be disabled.
type OIDCConfig struct {
	// Clients is the client registry: see oidc.ClientConfig for the keys
	// (id, name, secret_sha256, redirect_uris, post_logout_redirect_uris,
	// scopes, grant_types, native, first_party, access_token_ttl,
	// id_token_ttl, refresh_token_ttl). Checked when the daemon starts.
	Clients []oidc.ClientConfig `yaml:"clients"`
}
