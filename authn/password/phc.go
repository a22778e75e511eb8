package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Bounds on argon2id parameters accepted from a stored hash or a
// configuration. They exist so that a corrupted or maliciously edited row
// (m=4294967295) cannot make one verification allocate 4 GiB or run for
// minutes; they are far above anything OWASP or RFC 9106 recommends for
// interactive logins, so legitimate upgrades stay possible.
const (
	// MinMemory is the smallest accepted memory cost in KiB (RFC 9106
	// requires at least 8 KiB per lane; tests use small values).
	MinMemory = 8
	// MaxMemory is the largest accepted memory cost: 256 MiB.
	MaxMemory = 256 * 1024
	// MaxTime is the largest accepted number of passes.
	MaxTime = 16
	// MaxThreads is the largest accepted degree of parallelism.
	MaxThreads = 16
	// MinSaltLen and MaxSaltLen bound the salt length in bytes.
	MinSaltLen, MaxSaltLen = 8, 64
	// MinKeyLen and MaxKeyLen bound the derived key (hash) length in bytes.
	MinKeyLen, MaxKeyLen = 16, 64
	// maxPHCLen bounds the whole encoded string, so parsing is O(1)
	// whatever is stored: the longest valid string is well below it.
	maxPHCLen = 256
)

// Params are argon2id cost parameters.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over memory.
	Time uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived hash in bytes.
	KeyLen uint32
}

// DefaultParams are OWASP's first recommended argon2id configuration
// (m=19 MiB, t=2, p=1; ASVS 5.0 V11.4), with a 128-bit salt and a 256-bit
// output.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p lies within the accepted bounds.
func (p Params) Validate() error {
	switch {
	case p.Memory < MinMemory || p.Memory > MaxMemory:
		return fmt.Errorf("%w: memory %d KiB outside [%d, %d]", ErrParamOutOfRange, p.Memory, MinMemory, MaxMemory)
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("%w: time %d outside [1, %d]", ErrParamOutOfRange, p.Time, MaxTime)
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("%w: threads %d outside [1, %d]", ErrParamOutOfRange, p.Threads, MaxThreads)
	case p.Memory < 8*uint32(p.Threads):
		// x/crypto would silently raise m to 8*p; the hash would then not
		// match what the string claims.
		return fmt.Errorf("%w: memory %d KiB below 8 KiB per thread (%d threads)", ErrParamOutOfRange, p.Memory, p.Threads)
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("%w: salt length %d outside [%d, %d]", ErrParamOutOfRange, p.SaltLen, MinSaltLen, MaxSaltLen)
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("%w: key length %d outside [%d, %d]", ErrParamOutOfRange, p.KeyLen, MinKeyLen, MaxKeyLen)
	}
	return nil
}

// Errors returned by ParsePHC and by Verify for a stored hash that is not
// usable. All of them wrap ErrInvalidPHC, so a caller that only wants to
// know "is the stored hash corrupt" checks that one.
var (
	// ErrInvalidPHC reports a string that is not a well-formed argon2id
	// PHC string.
	ErrInvalidPHC = errors.New("invalid argon2id PHC string")
	// ErrUnsupportedAlgorithm reports a PHC string for another algorithm
	// (argon2i, argon2d, bcrypt, ...).
	ErrUnsupportedAlgorithm = fmt.Errorf("%w: unsupported algorithm", ErrInvalidPHC)
	// ErrUnsupportedVersion reports an argon2 version other than 19 (0x13).
	ErrUnsupportedVersion = fmt.Errorf("%w: unsupported argon2 version", ErrInvalidPHC)
	// ErrParamOutOfRange reports a cost parameter or length outside the
	// package bounds (MaxMemory and friends).
	ErrParamOutOfRange = fmt.Errorf("%w: parameter out of range", ErrInvalidPHC)
)

// PHC is a parsed argon2id PHC string.
type PHC struct {
	// Params are the cost parameters; SaltLen and KeyLen are those of Salt
	// and Hash.
	Params Params
	// Salt is the decoded salt.
	Salt []byte
	// Hash is the decoded derived key.
	Hash []byte
}

// b64 is the PHC encoding: standard alphabet, no padding, and strict so
// that non-zero trailing bits are rejected (every hash has exactly one
// encoding, which keeps the parser's answers unambiguous).
var b64 = base64.RawStdEncoding.Strict()

// String encodes the PHC string.
func (h PHC) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.Params.Memory, h.Params.Time, h.Params.Threads,
		b64.EncodeToString(h.Salt), b64.EncodeToString(h.Hash))
}

// ParsePHC parses an argon2id PHC string strictly: exactly the five fields
// "$argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<hash>" in that order, decimal
// numbers without sign or leading zeros, unpadded standard base64, and
// every parameter within the package bounds. Errors name the offending
// field but never quote the salt or hash.
func ParsePHC(s string) (PHC, error) {
	if len(s) > maxPHCLen {
		return PHC{}, fmt.Errorf("%w: %d bytes, longer than %d", ErrInvalidPHC, len(s), maxPHCLen)
	}
	if !strings.HasPrefix(s, "$") {
		return PHC{}, fmt.Errorf("%w: does not start with '$'", ErrInvalidPHC)
	}
	fields := strings.Split(s[1:], "$")
	if len(fields) != 5 {
		return PHC{}, fmt.Errorf("%w: %d '$'-separated fields, want 5", ErrInvalidPHC, len(fields))
	}
	if fields[0] != "argon2id" {
		return PHC{}, fmt.Errorf("%w (want argon2id)", ErrUnsupportedAlgorithm)
	}
	ver, ok := strings.CutPrefix(fields[1], "v=")
	if !ok {
		return PHC{}, fmt.Errorf("%w: version field does not start with \"v=\"", ErrInvalidPHC)
	}
	v, err := parseDecimal(ver, "v")
	if err != nil {
		return PHC{}, err
	}
	if v != argon2.Version {
		return PHC{}, fmt.Errorf("%w: v=%d (want %d)", ErrUnsupportedVersion, v, argon2.Version)
	}

	var p Params
	params := strings.Split(fields[2], ",")
	if len(params) != 3 {
		return PHC{}, fmt.Errorf("%w: %d parameters, want m,t,p", ErrInvalidPHC, len(params))
	}
	for i, name := range [3]string{"m", "t", "p"} {
		val, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return PHC{}, fmt.Errorf("%w: parameter %d is not %q", ErrInvalidPHC, i+1, name)
		}
		n, err := parseDecimal(val, name)
		if err != nil {
			return PHC{}, err
		}
		switch name {
		case "m":
			if n > MaxMemory {
				return PHC{}, fmt.Errorf("%w: m=%d KiB above %d", ErrParamOutOfRange, n, MaxMemory)
			}
			p.Memory = uint32(n)
		case "t":
			if n > MaxTime {
				return PHC{}, fmt.Errorf("%w: t=%d above %d", ErrParamOutOfRange, n, MaxTime)
			}
			p.Time = uint32(n)
		case "p":
			if n > MaxThreads {
				return PHC{}, fmt.Errorf("%w: p=%d above %d", ErrParamOutOfRange, n, MaxThreads)
			}
			p.Threads = uint8(n)
		}
	}

	salt, err := decodeB64(fields[3], "salt", MinSaltLen, MaxSaltLen)
	if err != nil {
		return PHC{}, err
	}
	hash, err := decodeB64(fields[4], "hash", MinKeyLen, MaxKeyLen)
	if err != nil {
		return PHC{}, err
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(hash))
	if err := p.Validate(); err != nil {
		return PHC{}, err
	}
	return PHC{Params: p, Salt: salt, Hash: hash}, nil
}

// parseDecimal accepts only canonical non-negative decimals: the PHC spec
// forbids signs and leading zeros, and accepting them would give one hash
// several spellings.
func parseDecimal(s, field string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: %s is empty", ErrInvalidPHC, field)
	}
	if len(s) > 10 {
		return 0, fmt.Errorf("%w: %s has %d digits", ErrParamOutOfRange, field, len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %s is not a decimal number", ErrInvalidPHC, field)
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%w: %s has a leading zero", ErrInvalidPHC, field)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil { // unreachable after the checks above; kept for safety
		return 0, fmt.Errorf("%w: %s: %w", ErrInvalidPHC, field, err)
	}
	return n, nil
}

func decodeB64(s, field string, minLen, maxLen int) ([]byte, error) {
	// Check the encoded length first so a long field is rejected before
	// anything is allocated for it.
	if n := b64.DecodedLen(len(s)); n < minLen || n > maxLen {
		return nil, fmt.Errorf("%w: %s is %d bytes, want %d to %d", ErrParamOutOfRange, field, n, minLen, maxLen)
	}
	// encoding/base64 silently skips '\r' and '\n'; a PHC string has one
	// spelling, so only the alphabet itself is allowed.
	for i := 0; i < len(s); i++ {
		if !isB64Std(s[i]) {
			return nil, fmt.Errorf("%w: %s has a character outside the base64 alphabet at offset %d", ErrInvalidPHC, field, i)
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		// The base64 error quotes only an offset, not the data.
		return nil, fmt.Errorf("%w: %s is not unpadded standard base64: %w", ErrInvalidPHC, field, err)
	}
	return b, nil
}

func isB64Std(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}
