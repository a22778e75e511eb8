// Package upstream is the relying-party side of "sign in with another
// identity provider": the configuration of upstream OpenID Connect
// providers (issuer, client, scopes, and a preset that says how the
// provider's claims map to a verified address and a name), discovery
// under a deadline, the authorization URL with PKCE (S256) and a nonce,
// and the code exchange with ID-token validation (coreos/go-oidc and
// x/oauth2). It turns a callback into an Identity.
//
// It is not the sign-in: which account an identity signs in to, when it
// links and when it registers is authn's (signin_upstream.go), and the
// routes and the state cookie are the HTTP layer's.
package upstream
