// Package authn is riskauth's sign-in service: registration and email
// verification, one-shot and identifier-first sign-in (password, email
// code, magic link, TOTP, recovery code) judged by the risk engine,
// sessions, re-authentication, password change and reset, authenticator
// enrolment, and the mail and security events that go with them
// (docs/authn.md describes every flow).
//
// New returns Services: five services over one shared, unexported core.
// SignIn is someone proving who they are, ending in a session; it owns
// the login-flow state machine (the step struct carries one step through
// it). Registration and Recovery are the mailed-link flows of someone
// without a session. Sessions resolves a session on every request and
// lists and ends them. Account is the security settings of a signed-in
// user behind a fresh proof (Reauthenticate). The core holds what they
// share: configuration, stores, risk engine, hasher and policy, the mail
// queue, metrics and the security-event sink, and the helpers several
// services call, one file per subject (risk.go, throttle.go,
// passwords.go, factors.go, sessions.go, notify.go). Consumers declare the
// few methods they use (internal/httpapi has one small interface per
// concern) and are handed the service that has them.
//
// The package also declares the domain types and the store interfaces the
// flows need (users, login flows, one-time tokens, sessions, attempts,
// TOTP factors, recovery codes), beside their consumer and kept small
// (five methods or fewer), so each flow states exactly what it depends
// on; authn/store implements all of them for SQLite and PostgreSQL. Every
// store method that reads or writes a time takes it as a parameter, and
// the services take a Clock, so flows can be replayed on a virtual clock.
// Every step is stateless in process memory: flows, codes, sessions and
// attempts live in the database, so consecutive steps may hit different
// instances.
//
// This package is not the HTTP surface (internal/httpapi: transport of
// session tokens, CSRF, rate limits, status codes), not the risk engine
// (engine), and not the SOC format: it emits authn/secevent values and
// engine/alert maps them to OCSF. Cryptography lives in its sub-packages
// (password, token, totp, seal); callers hash tokens, codes and passwords
// and seal TOTP secrets before anything reaches a store, so a database
// dump alone never yields a usable credential.
package authn
