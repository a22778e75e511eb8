// Package authn holds the domain types of riskauth's sign-in and registration
// service and the store interfaces its flows need: users, TOTP factors and
// recovery codes, sessions, one-time tokens (email verification, password
// reset, magic links, email codes), identifier-first login flows and the
// attempt history that drives lockout and step-up.
//
// The interfaces are declared here, beside their consumer, and kept small
// (five methods or fewer) so that each flow states exactly what it depends
// on; authn/store implements all of them for SQLite and PostgreSQL. Every
// method that reads or writes a time takes it as a parameter instead of
// calling time.Now, so flows can be replayed on a virtual clock.
//
// This package is not the flows themselves (registration, sign-in, reset,
// self-service come later and are built on these interfaces), not the HTTP
// surface (internal/httpapi), and not cryptography: callers hash tokens, codes
// and passwords and seal TOTP secrets before anything reaches a store, so a
// database dump alone never yields a usable credential.
package authn
