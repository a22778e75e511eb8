// Package token makes and checks the random secrets of the login flows:
// opaque bearer tokens (sessions, magic links, password-reset and
// email-verification links) and short numeric one-time codes (email
// codes).
//
// Tokens carry 256 bits from crypto/rand (at least 128 are required by
// ASVS 5.0 V7.2.3 and NIST SP 800-63B) as unpadded base64url, and are
// stored only as Hash(token): SHA-256, not a slow password hash, because
// with 2^256 equally likely values there is nothing to guess — a slow hash
// only protects low-entropy human choices — and a fast hash lets the store
// look a token up by its hash in an index. A leaked table then reveals no
// usable token.
//
// Numeric codes are different: six digits are only 2^20 possibilities, so
// what protects them is a short lifetime and a small attempt limit (the
// flow's job), and they are stored keyed (HashCode with a server key,
// bound to the challenge they answer) so a leaked table cannot be
// brute-forced offline in microseconds.
//
// It is not a signed-token (JWT/PASETO) library: tokens mean nothing by
// themselves; the store maps their hash to state. Nothing here logs.
package token
