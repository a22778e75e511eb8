package totp

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/riskauth/riskauth/authn/token"
)

// Fixed TOTP parameters (see the package doc).
const (
	// Period is the length of one time step.
	Period = 30 * time.Second
	// Digits is the length of a code.
	Digits = 6
	// Skew is how many steps before and after the current one are
	// accepted.
	Skew = 1
	// SecretSize is the secret length in bytes (RFC 4226 recommends 160
	// bits).
	SecretSize = 20
	// minSecretSize is the shortest secret Validate accepts (RFC 4226
	// requires 128 bits).
	minSecretSize = 16
	// QRSize is the width and height of the enrolment QR code in pixels.
	QRSize = 256
)

// b32 is the secret encoding of otpauth URIs: RFC 4648 base32, no padding.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Enrollment is what a user needs to add the factor to an authenticator
// app. Secret must be sealed before it is stored and is shown to the user
// only during enrolment.
type Enrollment struct {
	// Secret is the base32 (unpadded) secret, for manual entry.
	Secret string
	// URI is the otpauth://totp/... key URI encoded in the QR code.
	URI string
	// QRPNG is the URI as a PNG QR code of QRSize×QRSize pixels.
	QRPNG []byte
}

// Enroll creates a random 20-byte secret for accountName (usually the
// email address) at issuer (the service name shown in the app).
func Enroll(issuer, accountName string) (*Enrollment, error) {
	return enroll(rand.Reader, issuer, accountName)
}

func enroll(random io.Reader, issuer, accountName string) (*Enrollment, error) {
	// A colon would split the URI label ("issuer:account") in the wrong
	// place in some apps.
	if issuer == "" || strings.Contains(issuer, ":") {
		return nil, fmt.Errorf("totp enroll: issuer must be non-empty and contain no ':'")
	}
	if accountName == "" {
		return nil, errors.New("totp enroll: empty account name")
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: accountName,
		Period:      uint(Period / time.Second),
		SecretSize:  SecretSize,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
		Rand:        random,
	})
	if err != nil {
		return nil, fmt.Errorf("totp enroll: generate key: %w", err)
	}
	img, err := key.Image(QRSize, QRSize)
	if err != nil {
		return nil, fmt.Errorf("totp enroll: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp enroll: encode PNG: %w", err)
	}
	return &Enrollment{Secret: key.Secret(), URI: key.URL(), QRPNG: buf.Bytes()}, nil
}

// Step returns the RFC 6238 time step (counter) that contains t.
func Step(t time.Time) int64 {
	s := t.Unix()
	p := int64(Period / time.Second)
	// Floor division, so instants before 1970 do not round towards zero.
	if s < 0 && s%p != 0 {
		return s/p - 1
	}
	return s / p
}

// ValidCode reports whether code has the shape of a TOTP code: exactly
// six ASCII digits, nothing else (no spaces, no Unicode digits). Callers
// that want to tolerate "123 456" strip spaces first.
func ValidCode(code string) bool {
	return token.ValidCode(code, Digits)
}

// CheckSecret reports whether secret is a usable base32 TOTP secret of at
// least 128 bits; enrolment and import call it so that Validate never
// meets a broken secret.
func CheckSecret(secret string) error {
	b, err := decodeSecret(secret)
	if err != nil {
		return err
	}
	clear(b)
	return nil
}

func decodeSecret(secret string) ([]byte, error) {
	secret = strings.ToUpper(strings.TrimRight(secret, "="))
	// encoding/base32 silently skips '\r' and '\n'; a stored secret has
	// one spelling.
	for i := 0; i < len(secret); i++ {
		if c := secret[i]; !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return nil, fmt.Errorf("totp secret: character outside the base32 alphabet at offset %d", i)
		}
	}
	b, err := b32.DecodeString(secret)
	if err != nil {
		// The base32 error names an offset only, never the secret.
		return nil, fmt.Errorf("totp secret: not base32: %w", err)
	}
	if len(b) < minSecretSize {
		return nil, fmt.Errorf("totp secret: %d bytes, want at least %d", len(b), minSecretSize)
	}
	return b, nil
}

// Validate checks code against secret at now, accepting the current step
// and Skew steps either side, and returns the step that matched. The
// caller must then record the step with a compare-and-set that succeeds
// only if it is greater than the last step accepted for this factor; that
// is what stops a code being used twice.
//
// A code that is not exactly six ASCII digits is rejected before any
// cryptography, and so is a secret that does not decode (use CheckSecret
// to tell that case apart). All candidate steps are computed and compared
// in constant time, whichever matches: pquerna/otp's own ValidateCustom
// compares each code in constant time but returns at the first match, so
// its timing reveals which step matched, and it does not say which step
// that was.
//
// When several steps match (a one-in-a-million coincidence), the current
// step wins, then the earlier one: the order in which an authenticator app
// would most plausibly have shown the code.
func Validate(secret, code string, now time.Time) (step int64, ok bool) {
	if !ValidCode(code) {
		return 0, false
	}
	if CheckSecret(secret) != nil {
		return 0, false
	}
	current := Step(now)
	// Preference order: current, earlier, later.
	candidates := [1 + 2*Skew]int64{current, current - 1, current + 1}
	opts := hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	var (
		found   int
		matched int64
	)
	for _, c := range candidates {
		if c < 0 {
			continue // before 1970: no such counter
		}
		// hotp with the explicit counter rather than totp with a time:
		// the step we report is then exactly the counter we computed.
		want, err := hotp.GenerateCodeCustom(secret, uint64(c), opts)
		if err != nil {
			return 0, false
		}
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(code))
		// Keep the first match without branching on secret data.
		take := eq & (1 - found)
		matched = int64(take)*c + int64(1-take)*matched
		found |= eq
	}
	if found == 0 {
		return 0, false
	}
	return matched, true
}
