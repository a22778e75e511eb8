package password

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Normalize returns pw in Unicode Normalization Form C, as NIST SP 800-63B
// rev 4 §3.1.1.2 asks before hashing: "é" typed as one code point or as
// "e" plus a combining accent is then the same password. Every function of
// this package that takes a password calls it, so callers need not; it is
// exported for code that must see the same string (for example a breach
// check done elsewhere). Invalid UTF-8 is returned unchanged.
func Normalize(pw string) string {
	return norm.NFC.String(pw)
}

// Hash derives an argon2id hash of the NFC-normalised pw with a fresh
// random salt and returns it as a PHC string. It runs at once, with no
// concurrency bound: servers use Hasher.
func Hash(pw string, p Params) (string, error) {
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	b := []byte(Normalize(pw))
	defer clear(b) // do not leave a copy of the password on the heap
	key := argon2.IDKey(b, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return PHC{Params: p, Salt: salt, Hash: key}.String(), nil
}

// Verify reports whether pw (NFC-normalised) matches the stored PHC string.
// A malformed or out-of-bounds stored hash is an error wrapping
// ErrInvalidPHC, never a panic and never an allocation above MaxMemory. The
// final comparison is constant-time. It runs at once, with no concurrency
// bound: servers use Hasher.
func Verify(phc, pw string) (bool, error) {
	h, err := ParsePHC(phc)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	return verifyParsed(h, pw), nil
}

func verifyParsed(h PHC, pw string) bool {
	p := h.Params
	b := []byte(Normalize(pw))
	defer clear(b) // do not leave a copy of the password on the heap
	key := argon2.IDKey(b, h.Salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(key, h.Hash) == 1
}

// NeedsRehash reports whether a stored hash should be replaced by a hash
// under current, to be done right after a successful verification (the
// only moment the plaintext is at hand). Only weaker settings trigger it —
// less memory, fewer passes, a shorter salt or key — so that lowering the
// configured cost (say, to survive a load spike) does not make every login
// write. An unparseable stored hash also reports true.
func NeedsRehash(phc string, current Params) bool {
	h, err := ParsePHC(phc)
	if err != nil {
		return true
	}
	p := h.Params
	return p.Memory < current.Memory || p.Time < current.Time ||
		p.SaltLen < current.SaltLen || p.KeyLen < current.KeyLen
}
