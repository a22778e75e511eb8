package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Recovery code shape: 12 symbols of Crockford's base32 alphabet (no I, L,
// O or U, so nothing reads as 1, 0 or another letter) in three groups of
// four, e.g. "7KQ2-M9XD-4HZT": 12 × 5 = 60 bits of entropy each.
const (
	// DefaultRecoveryCodes is how many codes a user gets at once.
	DefaultRecoveryCodes = 10
	// maxRecoveryCodes bounds one generation.
	maxRecoveryCodes = 100
	// recoveryLen is the number of symbols in a code, without dashes.
	recoveryLen = 12
	// recoveryGroup is the number of symbols between dashes.
	recoveryGroup = 4
	// RecoveryCodeBits is the entropy of one code.
	RecoveryCodeBits = recoveryLen * 5
	// MinRecoveryKeyLen is the shortest accepted RecoveryHasher key.
	MinRecoveryKeyLen = 32
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// ErrInvalidRecoveryCode reports input that cannot be a recovery code
// (wrong length or a character outside the alphabet). Flows answer it like
// a wrong code.
var ErrInvalidRecoveryCode = errors.New("invalid recovery code")

// GenerateRecoveryCodes returns n fresh codes formatted for display
// ("XXXX-XXXX-XXXX"). Show them once; store only RecoveryHasher hashes.
func GenerateRecoveryCodes(n int) ([]string, error) {
	return generateRecoveryCodes(rand.Reader, n)
}

func generateRecoveryCodes(random io.Reader, n int) ([]string, error) {
	if n < 1 || n > maxRecoveryCodes {
		return nil, fmt.Errorf("recovery codes: count %d outside [1, %d]", n, maxRecoveryCodes)
	}
	buf := make([]byte, n*recoveryLen)
	defer clear(buf)
	if _, err := io.ReadFull(random, buf); err != nil {
		return nil, fmt.Errorf("recovery codes: read random: %w", err)
	}
	codes := make([]string, n)
	for i := range codes {
		var b strings.Builder
		for j, r := range buf[i*recoveryLen : (i+1)*recoveryLen] {
			if j > 0 && j%recoveryGroup == 0 {
				b.WriteByte('-')
			}
			// 256 is a multiple of 32, so the low five bits of a uniform
			// byte are uniform: no modulo bias.
			b.WriteByte(crockford[r&31])
		}
		codes[i] = b.String()
	}
	return codes, nil
}

// NormaliseRecoveryCode turns what a user typed into the canonical 12
// symbols: dashes and spaces removed, ASCII letters upper-cased, and the
// look-alikes Crockford's alphabet leaves out read as what they resemble
// (O as 0, I and L as 1). Anything else is ErrInvalidRecoveryCode.
func NormaliseRecoveryCode(code string) (string, error) {
	// Bound the work on untrusted input before looping over it.
	if len(code) > 4*recoveryLen {
		return "", fmt.Errorf("%w: too long", ErrInvalidRecoveryCode)
	}
	out := make([]byte, 0, recoveryLen)
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		switch c {
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if strings.IndexByte(crockford, c) < 0 {
			return "", fmt.Errorf("%w: character outside the alphabet", ErrInvalidRecoveryCode)
		}
		out = append(out, c)
	}
	if len(out) != recoveryLen {
		return "", fmt.Errorf("%w: %d symbols, want %d", ErrInvalidRecoveryCode, len(out), recoveryLen)
	}
	return string(out), nil
}

// RecoveryHasher computes the storage form of recovery codes:
// HMAC-SHA-256 under a server key. A slow password hash (argon2id) is not
// needed because a code carries 60 random bits, not a human choice: there
// is no dictionary to try, and even with the key an offline search needs
// about 2^59 HMACs per code. The key still matters: without it, a leaked
// table cannot be searched at all, and the store can look codes up by
// hash directly because equal codes give equal hashes.
type RecoveryHasher struct {
	key []byte
}

// NewRecoveryHasher returns a hasher keyed with a copy of key, which must
// be at least 32 random bytes and the same on every instance.
func NewRecoveryHasher(key []byte) (*RecoveryHasher, error) {
	if len(key) < MinRecoveryKeyLen {
		return nil, fmt.Errorf("recovery hasher: key is %d bytes, want at least %d", len(key), MinRecoveryKeyLen)
	}
	return &RecoveryHasher{key: append([]byte(nil), key...)}, nil
}

// recoveryDomain separates these MACs from any other use of the key.
const recoveryDomain = "riskauth/totp/recovery-code/v1\x00"

// Hash normalises code and returns its hex HMAC; an input that is not a
// code returns ErrInvalidRecoveryCode.
func (h *RecoveryHasher) Hash(code string) (string, error) {
	n, err := NormaliseRecoveryCode(code)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, h.key)
	mac.Write([]byte(recoveryDomain))
	mac.Write([]byte(n))
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// Verify reports, in constant time, whether code hashes to stored.
func (h *RecoveryHasher) Verify(code, stored string) bool {
	got, err := h.Hash(code)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(stored)) == 1
}
