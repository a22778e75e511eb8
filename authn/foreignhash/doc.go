// Package foreignhash verifies password hashes made by other identity
// systems, so that users migrated with their hashes (issue 20) sign in
// with the password they already have, once verified natively and then
// rehashed to argon2id by authn.
//
// The stored form of each scheme is a self-describing string: the
// system's own where it has one (bcrypt's $2b$, Django's pbkdf2_sha256$,
// passlib's $pbkdf2-sha256$ and $scrypt$, the PHC $argon2id$), else one
// this package defines and builds at import (Keycloak's credential JSON,
// Firebase's modified scrypt with its project parameters, salted SHA-2).
// Parse is strict and bounded: a hostile import cannot make a sign-in
// allocate gigabytes or spin for minutes (cost, iteration and memory
// caps), and nothing here panics on any input (fuzzed).
//
// It is not for new hashes: riskauth hashes with argon2id
// (authn/password) and only ever verifies these.
package foreignhash
