package totp

import (
	"bytes"
	"encoding/base32"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"
)

// rfcSecret is the SHA-1 key of RFC 6238 appendix B, "12345678901234567890".
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

func TestValidateRFC6238Vectors(t *testing.T) {
	t.Parallel()
	// RFC 6238 appendix B (SHA-1), last six of the eight digits.
	tests := []struct {
		unix int64
		code string
	}{
		{59, "287082"},
		{1111111109, "081804"},
		{1111111111, "050471"},
		{1234567890, "005924"},
		{2000000000, "279037"},
		{20000000000, "353130"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			now := time.Unix(tt.unix, 0)
			step, ok := Validate(rfcSecret, tt.code, now)
			require.True(t, ok)
			require.Equal(t, tt.unix/30, step)
		})
	}
}

func TestValidateWindow(t *testing.T) {
	t.Parallel()
	codeAt := time.Unix(1111111111, 0) // step 37037037, code 050471
	const code = "050471"
	codeStep := Step(codeAt)
	tests := []struct {
		name     string
		now      time.Time
		code     string
		secret   string
		wantOK   bool
		wantStep int64
	}{
		{name: "same step", now: codeAt, code: code, secret: rfcSecret, wantOK: true, wantStep: codeStep},
		{name: "end of same step", now: time.Unix(codeStep*30+29, 0), code: code, secret: rfcSecret, wantOK: true, wantStep: codeStep},
		{name: "one step late", now: codeAt.Add(30 * time.Second), code: code, secret: rfcSecret, wantOK: true, wantStep: codeStep},
		{name: "one step early", now: codeAt.Add(-30 * time.Second), code: code, secret: rfcSecret, wantOK: true, wantStep: codeStep},
		{name: "two steps late", now: codeAt.Add(60 * time.Second), code: code, secret: rfcSecret},
		{name: "two steps early", now: codeAt.Add(-60 * time.Second), code: code, secret: rfcSecret},
		{name: "wrong code", now: codeAt, code: "050472", secret: rfcSecret},
		{name: "lower-case unpadded secret", now: codeAt, code: code, secret: strings.ToLower(strings.TrimRight(rfcSecret, "=")), wantOK: true, wantStep: codeStep},
		{name: "five digits", now: codeAt, code: "05047", secret: rfcSecret},
		{name: "seven digits", now: codeAt, code: "0504710", secret: rfcSecret},
		{name: "leading space", now: codeAt, code: " 050471", secret: rfcSecret},
		{name: "inner space", now: codeAt, code: "050 471", secret: rfcSecret},
		{name: "full-width digits", now: codeAt, code: "０５０４７１", secret: rfcSecret},
		{name: "letters", now: codeAt, code: "05047a", secret: rfcSecret},
		{name: "empty", now: codeAt, code: "", secret: rfcSecret},
		{name: "secret not base32", now: codeAt, code: code, secret: "not base32!"},
		{name: "secret with newline", now: codeAt, code: code, secret: rfcSecret[:16] + "\n" + rfcSecret[16:]},
		{name: "secret too short", now: codeAt, code: code, secret: "GEZDGNBVGY3TQOJQ"},
		{name: "before 1970", now: time.Unix(-45, 0), code: code, secret: rfcSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			step, ok := Validate(tt.secret, tt.code, tt.now)
			require.Equal(t, tt.wantOK, ok)
			require.Equal(t, tt.wantStep, step)
		})
	}
}

func TestStep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		unix int64
		want int64
	}{{0, 0}, {29, 0}, {30, 1}, {59, 1}, {-1, -1}, {-30, -1}, {-31, -2}}
	for _, tt := range tests {
		require.Equal(t, tt.want, Step(time.Unix(tt.unix, 0)), "unix %d", tt.unix)
	}
}

func TestCheckSecret(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckSecret(rfcSecret))
	require.ErrorContains(t, CheckSecret("GEZDGNBVGY3TQOJQ"), "10 bytes, want at least 16")
	err := CheckSecret("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@")
	require.ErrorContains(t, err, "outside the base32 alphabet")
	require.NotContains(t, err.Error(), "@@@@", "errors never quote the secret")
}

func TestEnroll(t *testing.T) {
	t.Parallel()
	e, err := Enroll("RiskAuth", "alice@example.com")
	require.NoError(t, err)
	require.Len(t, e.Secret, 32, "20 bytes of unpadded base32")
	raw, err := b32.DecodeString(e.Secret)
	require.NoError(t, err)
	require.Len(t, raw, SecretSize)
	require.NoError(t, CheckSecret(e.Secret))

	key, err := otp.NewKeyFromURL(e.URI)
	require.NoError(t, err)
	require.Equal(t, "totp", key.Type())
	require.Equal(t, "RiskAuth", key.Issuer())
	require.Equal(t, "alice@example.com", key.AccountName())
	require.Equal(t, e.Secret, key.Secret())
	require.Equal(t, uint64(30), key.Period())
	require.Equal(t, otp.DigitsSix, key.Digits())
	require.Equal(t, otp.AlgorithmSHA1, key.Algorithm())
	u, err := url.Parse(e.URI)
	require.NoError(t, err)
	require.Equal(t, "SHA1", u.Query().Get("algorithm"))

	img, err := png.Decode(bytes.NewReader(e.QRPNG))
	require.NoError(t, err)
	require.Equal(t, QRSize, img.Bounds().Dx())
	require.Equal(t, QRSize, img.Bounds().Dy())

	// What an authenticator app computes from the URI validates.
	now := time.Unix(1800000000, 0)
	code, err := totp.GenerateCode(key.Secret(), now)
	require.NoError(t, err)
	step, ok := Validate(e.Secret, code, now)
	require.True(t, ok)
	require.Equal(t, Step(now), step)

	e2, err := Enroll("RiskAuth", "alice@example.com")
	require.NoError(t, err)
	require.NotEqual(t, e.Secret, e2.Secret)
}

func TestEnrollErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, issuer, account, errText string
		random                         *bytes.Reader
	}{
		{name: "empty issuer", account: "a", errText: "issuer must be non-empty"},
		{name: "colon in issuer", issuer: "a:b", account: "a", errText: "contain no ':'"},
		{name: "empty account", issuer: "RiskAuth", errText: "empty account name"},
		{name: "short random", issuer: "RiskAuth", account: "a", random: bytes.NewReader(make([]byte, 5)), errText: "generate key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.random
			if r == nil {
				r = bytes.NewReader(make([]byte, 64))
			}
			_, err := enroll(r, tt.issuer, tt.account)
			require.ErrorContains(t, err, tt.errText)
		})
	}
}

func FuzzValidate(f *testing.F) {
	f.Add(rfcSecret, "050471", int64(1111111111))
	f.Add("", "", int64(0))
	f.Add("JBSWY3DPEHPK3PXP", "123456", int64(-1))
	f.Add(rfcSecret, "０５０４７１", int64(1<<62))
	f.Fuzz(func(t *testing.T, secret, code string, unix int64) {
		now := time.Unix(unix, 0)
		step, ok := Validate(secret, code, now)
		if !ok {
			require.Zero(t, step)
			return
		}
		require.True(t, ValidCode(code))
		require.NoError(t, CheckSecret(secret))
		require.LessOrEqual(t, step, Step(now)+1)
		require.GreaterOrEqual(t, step, Step(now)-1)
	})
}
