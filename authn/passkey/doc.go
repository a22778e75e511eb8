// Package passkey runs the two WebAuthn ceremonies riskauth needs —
// registering a passkey and asserting one (passwordless with a
// discoverable credential, or as a step-up for a known account) — over
// github.com/go-webauthn/webauthn, with the relying party's id and
// origins from configuration.
//
// It exists so that authn speaks in its own small types (User,
// Credential, State, Assertion) and never in the library's: the library's
// session data is kept as opaque bytes (State) that authn stores
// server-side with an expiry of its own, judged on the injected clock, and
// consumes once.
//
// It is not for storage (authn/store keeps credentials and ceremony
// states), for deciding what a ceremony's result means for a sign-in
// (authn: AAL, the risk evaluation, the clone alert) or for HTTP.
package passkey
