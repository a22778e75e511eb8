// Package password hashes, verifies and vets user-chosen passwords.
//
// It provides three things:
//
//   - argon2id hashing in the PHC string format
//     ($argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>), with a strict, bounded
//     parser (ParsePHC) so a corrupt or hostile stored hash can neither panic
//     the process nor make it allocate gigabytes;
//   - Hasher, which bounds how many argon2id computations run at once (each
//     one holds Params.Memory KiB, 19 MiB by default), queues the rest and
//     sheds load with ErrBusy when a caller's deadline or the configured
//     maximum wait passes, and which can burn the cost of a verification for
//     unknown users (VerifyDummy) so that "no such user" and "wrong
//     password" take the same time (OWASP ASVS V6, CONVENTIONS §10);
//   - Checker, the registration / password-change policy of NIST SP 800-63B
//     rev 4 §3.1.1.2: a minimum length that depends on whether the password
//     may be the only factor, a generous maximum that is enforced by
//     rejection and never by truncation, no composition rules, a
//     context-word check (service name, address, name: as substrings,
//     folded and leet-mapped), a repetitive-or-sequential check and a
//     breached-password check. Each rejection is a *PolicyError with a
//     stable Code for the HTTP layer and a message that names the rule.
//
// Every function that consumes a password first NFC-normalises it
// (Normalize), so the same password typed on systems that produce composed
// or decomposed Unicode hashes identically and counts the same length.
//
// It is not for high-entropy secrets such as session tokens, recovery codes
// or API keys (see authn/token and authn/totp: a fast hash suffices there),
// and it does not decide whether a password needs hashing at all: the risk
// engine may answer "block" before this package is ever called.
//
// # Character policy
//
// NIST asks verifiers to accept all printable ASCII, the space character and
// Unicode. Check rejects, with CodeInvalidChars, only what cannot be a
// deliberate part of a typed password and is a known source of bugs:
// invalid UTF-8 (it has no code points to count and normalises
// unpredictably) and control characters (Unicode category Cc: NUL, which
// truncates strings in C-based components, tab, CR/LF and the rest of C0,
// DEL and C1). Format characters (Cf) such as the zero-width joiner are
// accepted because emoji sequences need them; leading, trailing and
// repeated spaces are kept as typed.
//
// # Nothing is logged
//
// No function in this package logs, and no error it returns contains a
// password, a salt or a hash; PHC parse errors name the field and the rule
// that failed, never the stored value.
package password
