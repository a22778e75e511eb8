// Package seal encrypts small secrets at rest — TOTP seeds above all —
// with AES-256-GCM under a named, rotatable key (ASVS 5.0 V11.3, V13.3).
//
// A sealed value is "v1:<key id>:" followed by the 12-byte random nonce and
// the GCM ciphertext with its tag, as bytes (a BLOB / bytea column). The
// key id tells Open which key to use, so keys rotate without a migration:
// configure the new key as active, keep the old ones for opening, reseal
// lazily (NeedsReseal) or in a batch job, then drop the old key.
//
// Callers bind each sealed value to where it belongs with associated data
// (AssociatedData(userID, factorID)): a seed copied into another user's
// row, or into another factor of the same user, no longer opens. The
// header (version and key id) is authenticated too.
//
// Random 96-bit nonces are safe for up to about 2^32 seals per key (NIST SP
// 800-38D §8.3); a key sealing a few seeds per enrolment stays many orders
// of magnitude below that.
//
// It is not a general-purpose encryption library (no streaming, no large
// payloads, no password-derived keys) and it does not manage keys: they
// come from configuration (internal/config.ParseNamedKeys) or a KMS the
// caller talks to.
// Nothing here logs, and no error quotes key material or plaintext.
package seal
