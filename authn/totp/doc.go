// Package totp implements the authenticator-app factor (RFC 6238 TOTP) and
// the recovery codes that back it up.
//
// Enroll creates a 160-bit secret with its otpauth:// URI and QR code.
// Validate checks a 6-digit code against the current 30-second step and
// one step either side (clock drift and typing time), and returns which
// step matched. It does not remember anything: replay protection (a code
// accepted once must not be accepted again, ASVS 5.0 V6.5.1) belongs to the
// store, which keeps the last accepted step per factor and accepts a
// validation only when the matched step is greater, with a
// compare-and-set so two concurrent submissions of one code cannot both
// win. Attempt limits likewise live in the flow and the velocity signal.
//
// The parameters are fixed — SHA-1, 6 digits, 30 s — because that is what
// every authenticator app implements; apps silently ignore other values
// in the URI and then produce codes that never match.
//
// Recovery codes (GenerateRecoveryCodes, NormaliseRecoveryCode,
// RecoveryHasher) are single-use, high-entropy codes shown once at
// enrolment; the store keeps only their keyed hashes and deletes each one
// as it is used.
//
// Secrets are sensitive: store them sealed (authn/seal), never log them,
// codes or recovery codes. Nothing in this package logs.
package totp
