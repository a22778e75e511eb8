package foreignhash

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// Scheme names a foreign hash format. The values are stable: they are
// what the import report counts and what the customer view shows.
type Scheme string

// The schemes.
const (
	Bcrypt         Scheme = "bcrypt"
	DjangoPBKDF2   Scheme = "django_pbkdf2"
	PBKDF2         Scheme = "pbkdf2" // passlib / PHC $pbkdf2-*$, Keycloak
	Scrypt         Scheme = "scrypt"
	FirebaseScrypt Scheme = "firebase_scrypt"
	Argon2         Scheme = "argon2"
	SaltedSHA      Scheme = "salted_sha"
)

// Caps on the work one verification may cost; a stored hash over them is
// refused at import, never run. They are well above what the systems
// migrated from use (bcrypt 10-12, Django 870,000 PBKDF2 rounds, Firebase
// 2^14 scrypt, argon2 64 MiB).
const (
	maxBcryptCost   = 16
	maxPBKDF2Rounds = 5_000_000
	maxScryptMemory = 256 << 20 // bytes: 128 · r · N
	maxArgon2Memory = 256 << 10 // KiB
	maxArgon2Time   = 16
	maxArgon2Lanes  = 16
	maxFieldLen     = 1024 // bytes of any one encoded field
)

// ErrUnknown is a string no parser here recognises.
var ErrUnknown = errors.New("foreignhash: not a known foreign hash format")

// Hash is a parsed foreign hash, ready to verify passwords.
type Hash struct {
	scheme Scheme
	weak   bool
	// derive computes the value to compare against want from a password.
	derive func(pw []byte) ([]byte, error)
	want   []byte
	// check, when set, replaces derive/want (bcrypt compares itself).
	check func(pw []byte) bool
}

// Scheme is the format's name.
func (h *Hash) Scheme() Scheme { return h.scheme }

// Weak reports a scheme too fast to resist offline guessing (salted
// SHA-2): a user migrated with it should be asked to reset their password
// rather than wait for their next sign-in.
func (h *Hash) Weak() bool { return h.weak }

// Verify reports whether pw matches, comparing in constant time.
func (h *Hash) Verify(pw string) bool {
	if h.check != nil {
		return h.check([]byte(pw))
	}
	got, err := h.derive([]byte(pw))
	if err != nil || len(got) != len(h.want) {
		return false
	}
	return subtle.ConstantTimeCompare(got, h.want) == 1
}

// parsers are tried in order by Parse; each answers errNotMine for a
// string of another format.
var parsers = []func(string) (*Hash, error){parseBcrypt, parseDjango, parsePBKDF2, parseScrypt, parseFirebase, parseArgon2, parseSalted}

var errNotMine = errors.New("not this format")

// Parse recognises and checks a stored foreign hash. The error names the
// format and what is wrong with it, never the hash itself.
func Parse(s string) (*Hash, error) {
	if len(s) > 8*maxFieldLen {
		return nil, errors.New("foreignhash: hash string too long")
	}
	for _, p := range parsers {
		h, err := p(s)
		if errors.Is(err, errNotMine) {
			continue
		}
		return h, err
	}
	return nil, ErrUnknown
}

// Is reports whether s is in one of this package's formats (parsable or
// not): what authn asks before choosing a verifier.
func Is(s string) bool {
	_, err := Parse(s)
	return !errors.Is(err, ErrUnknown)
}

// fields splits s by sep into exactly n fields, each at most maxFieldLen.
func fields(s, sep string, n int) ([]string, bool) {
	f := strings.Split(s, sep)
	if len(f) != n {
		return nil, false
	}
	for _, x := range f {
		if len(x) > maxFieldLen {
			return nil, false
		}
	}
	return f, true
}

func bad(s Scheme, format string, args ...any) error {
	return fmt.Errorf("foreignhash: %s: %s", s, fmt.Sprintf(format, args...))
}
