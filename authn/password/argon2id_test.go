package password

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHashVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		hashed string
		tried  string
		want   bool
	}{
		{name: "same", hashed: "correct horse battery staple", tried: "correct horse battery staple", want: true},
		{name: "wrong", hashed: "correct horse battery staple", tried: "correct horse battery stapler", want: false},
		{name: "case matters", hashed: "Secret-Passphrase", tried: "secret-passphrase", want: false},
		{name: "spaces kept", hashed: " padded ", tried: "padded", want: false},
		{name: "empty", hashed: "", tried: "", want: true},
		// NFC: precomposed U+00E9 and e + U+0301 are the same password.
		{name: "nfc composed vs decomposed", hashed: "caf\u00e9 au lait", tried: "cafe\u0301 au lait", want: true},
		{name: "nfc hangul", hashed: "\u1112\u1161\u11ab", tried: "\ud55c", want: true},
		{name: "long", hashed: strings.Repeat("ü", 256), tried: strings.Repeat("ü", 256), want: true},
		{name: "no truncation", hashed: strings.Repeat("a", 300), tried: strings.Repeat("a", 299), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			phc, err := Hash(tt.hashed, testParams)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$"), phc)
			ok, err := Verify(phc, tt.tried)
			require.NoError(t, err)
			require.Equal(t, tt.want, ok)
		})
	}
}

func TestHashSaltsDiffer(t *testing.T) {
	t.Parallel()
	a, err := Hash("same password", testParams)
	require.NoError(t, err)
	b, err := Hash("same password", testParams)
	require.NoError(t, err)
	require.NotEqual(t, a, b)
}

func TestHashRejectsBadParams(t *testing.T) {
	t.Parallel()
	_, err := Hash("pw", Params{Memory: MaxMemory * 2, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	require.ErrorIs(t, err, ErrParamOutOfRange)
}

func TestVerifyKnownVector(t *testing.T) {
	t.Parallel()
	// Produced by the reference implementation (argon2 CLI 20190702):
	// echo -n password | argon2 somesalt -id -t 2 -m 16 -p 1 -l 32 -e
	const phc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	ok, err := Verify(phc, "password")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = Verify(phc, "Password")
	require.NoError(t, err)
	require.False(t, ok)
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	ok, err := Verify("$argon2id$v=19$m=4194304,t=2,p=1$"+validSalt+"$"+validHash, "pw")
	require.False(t, ok)
	require.ErrorIs(t, err, ErrParamOutOfRange)
}

func TestDefaultParamsRoundTrip(t *testing.T) {
	t.Parallel()
	phc, err := Hash("the real parameters", DefaultParams())
	require.NoError(t, err)
	require.Regexp(t, `^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`, phc)
	ok, err := Verify(phc, "the real parameters")
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, NeedsRehash(phc, DefaultParams()))
}

func TestNeedsRehash(t *testing.T) {
	t.Parallel()
	cur := DefaultParams()
	mk := func(m, tc, p uint32, salt, key string) string {
		return PHC{Params: Params{Memory: m, Time: tc, Threads: uint8(p)}, Salt: []byte(salt), Hash: []byte(key)}.String()
	}
	salt16, key32 := strings.Repeat("s", 16), strings.Repeat("k", 32)
	tests := []struct {
		name string
		phc  string
		want bool
	}{
		{name: "current", phc: mk(19456, 2, 1, salt16, key32), want: false},
		{name: "stronger memory", phc: mk(65536, 2, 1, salt16, key32), want: false},
		{name: "stronger time", phc: mk(19456, 3, 1, salt16, key32), want: false},
		{name: "other parallelism", phc: mk(19456, 2, 4, salt16, key32), want: false},
		{name: "less memory", phc: mk(4096, 2, 1, salt16, key32), want: true},
		{name: "fewer passes", phc: mk(19456, 1, 1, salt16, key32), want: true},
		{name: "shorter salt", phc: mk(19456, 2, 1, salt16[:8], key32), want: true},
		{name: "shorter key", phc: mk(19456, 2, 1, salt16, key32[:16]), want: true},
		{name: "garbage", phc: "not a hash", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, NeedsRehash(tt.phc, cur))
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	require.Equal(t, "caf\u00e9", Normalize("cafe\u0301"))
	require.Equal(t, "plain ascii", Normalize("plain ascii"))
	require.Equal(t, "\xff\xfe", Normalize("\xff\xfe"), "invalid UTF-8 passes through unchanged")
}
