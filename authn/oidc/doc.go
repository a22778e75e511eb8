// Package oidc is riskauth's OpenID Connect provider: the client registry
// (from configuration), the authorization requests between /authorize and
// the login step, authorization codes, access and refresh tokens, and the
// storage the zitadel/oidc "op" package (an OpenID-certified provider
// implementation) calls for all of them. Provider wraps the op.Provider and
// adds what riskauth needs around it: PKCE with S256 for every client,
// one-use codes whose replay revokes what they issued, refresh-token
// rotation whose reuse revokes the whole family, and acr/amr claims that
// say what the sign-in actually did (docs/oidc.md).
//
// State lives in the store (authn/store implements Store for SQLite and
// PostgreSQL), never in process memory, so any instance serves any step
// of an authorization. Secrets (codes, refresh tokens, client secrets) are
// kept only as hashes.
//
// It is not the login page (internal/httpapi renders that and calls
// CompleteLogin) and it does not authenticate anyone itself: the sign-in
// service (authn.SignIn) does.
package oidc
