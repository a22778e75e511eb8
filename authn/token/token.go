package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
)

const (
	// DefaultBytes is the entropy of New tokens: 256 bits.
	DefaultBytes = 32
	// MinBytes is the least entropy NewN accepts: 128 bits.
	MinBytes = 16
	// MaxBytes bounds NewN and, through Valid, the tokens Hash is asked
	// about.
	MaxBytes = 64
	// MinCodeDigits and MaxCodeDigits bound numeric codes.
	MinCodeDigits, MaxCodeDigits = 6, 12
	// MinCodeKeyLen is the shortest key HashCode accepts.
	MinCodeKeyLen = 32
)

var b64 = base64.RawURLEncoding

// New returns a random token of DefaultBytes bytes, base64url-encoded
// without padding (43 characters, URL- and header-safe).
func New() (string, error) {
	return newToken(rand.Reader, DefaultBytes)
}

// NewN returns a random token of n bytes, MinBytes ≤ n ≤ MaxBytes.
func NewN(n int) (string, error) {
	return newToken(rand.Reader, n)
}

func newToken(random io.Reader, n int) (string, error) {
	if n < MinBytes || n > MaxBytes {
		return "", fmt.Errorf("token: %d bytes outside [%d, %d]", n, MinBytes, MaxBytes)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("token: read random: %w", err)
	}
	return b64.EncodeToString(b), nil
}

// Valid reports whether s could be a token of this package: unpadded
// base64url of MinBytes to MaxBytes bytes. Handlers call it on untrusted
// input before a store lookup, so garbage never reaches the database.
func Valid(s string) bool {
	n := b64.DecodedLen(len(s))
	if n < MinBytes || n > MaxBytes || len(s) != b64.EncodedLen(n) {
		return false
	}
	// encoding/base64 silently skips '\r' and '\n', so check the
	// alphabet first: a token has exactly one spelling.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	_, err := b64.Strict().DecodeString(s)
	return err == nil
}

// Hash returns the storage form of a token: hex SHA-256 (see the package
// doc for why a fast hash is right here).
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Equal compares two secrets (tokens, hashes, codes) in constant time. Only
// the lengths, which are public, can leak.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Matches reports, in constant time, whether token hashes to storedHash.
func Matches(token, storedHash string) bool {
	return Equal(Hash(token), storedHash)
}

// NewCode returns a uniformly random numeric code of the given number of
// digits, zero-padded ("004217"). crypto/rand.Int draws by rejection
// sampling, so there is no modulo bias towards low codes.
func NewCode(digits int) (string, error) {
	return newCode(rand.Reader, digits)
}

func newCode(random io.Reader, digits int) (string, error) {
	if digits < MinCodeDigits || digits > MaxCodeDigits {
		return "", fmt.Errorf("token: code of %d digits outside [%d, %d]", digits, MinCodeDigits, MaxCodeDigits)
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(digits)), nil)
	n, err := rand.Int(random, limit)
	if err != nil {
		return "", fmt.Errorf("token: read random: %w", err)
	}
	return fmt.Sprintf("%0*d", digits, n), nil
}

// ValidCode reports whether s is exactly digits ASCII digits.
func ValidCode(s string, digits int) bool {
	if len(s) != digits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ErrShortKey reports a HashCode key shorter than MinCodeKeyLen.
var ErrShortKey = errors.New("token: code key too short")

// codeDomain separates these MACs from any other use of the key.
const codeDomain = "riskauth/token/code/v1\x00"

// HashCode returns the storage form of a numeric code: hex
// HMAC-SHA-256(key, challengeID, code). Binding the challenge id means a
// code hash copied to another challenge does not verify, and that equal
// codes in different challenges hash differently. The key (≥ 32 bytes, the
// same on every instance) is what makes a leaked table useless: without
// it, a million candidate codes cannot be tried offline.
func HashCode(key []byte, challengeID, code string) (string, error) {
	if len(key) < MinCodeKeyLen {
		return "", fmt.Errorf("%w: %d bytes, want at least %d", ErrShortKey, len(key), MinCodeKeyLen)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(codeDomain))
	// Length-prefix the id so (id, code) pairs cannot run into each other.
	fmt.Fprintf(mac, "%d:%s", len(challengeID), challengeID)
	mac.Write([]byte(code))
	return hex.EncodeToString(mac.Sum(nil)), nil
}

// MatchesCode reports, in constant time, whether code answers the
// challenge whose stored hash is storedHash. Whitespace is not stripped:
// the HTTP layer decides what input it tolerates.
func MatchesCode(key []byte, challengeID, code, storedHash string) bool {
	if strings.TrimSpace(storedHash) == "" {
		return false
	}
	got, err := HashCode(key, challengeID, code)
	if err != nil {
		return false
	}
	return Equal(got, storedHash)
}
