package token

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	t.Parallel()
	a, err := New()
	require.NoError(t, err)
	b, err := New()
	require.NoError(t, err)
	require.Len(t, a, 43)
	require.NotEqual(t, a, b)
	require.Regexp(t, `^[A-Za-z0-9_-]{43}$`, a)
	require.True(t, Valid(a))

	tests := []struct {
		n       int
		wantLen int
		errText string
	}{
		{n: 16, wantLen: 22},
		{n: 32, wantLen: 43},
		{n: 64, wantLen: 86},
		{n: 15, errText: "15 bytes outside [16, 64]"},
		{n: 65, errText: "65 bytes outside"},
	}
	for _, tt := range tests {
		t.Run(tt.errText, func(t *testing.T) {
			t.Parallel()
			tok, err := NewN(tt.n)
			if tt.errText != "" {
				require.ErrorContains(t, err, tt.errText)
				return
			}
			require.NoError(t, err)
			require.Len(t, tok, tt.wantLen)
			require.True(t, Valid(tok))
		})
	}
	_, err = newToken(bytes.NewReader(nil), 32)
	require.ErrorContains(t, err, "read random")
}

func TestValid(t *testing.T) {
	t.Parallel()
	tok, err := New()
	require.NoError(t, err)
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "token", in: tok, want: true},
		{name: "empty", in: ""},
		{name: "too short", in: tok[:21]},
		{name: "too long", in: strings.Repeat("A", 87)},
		{name: "padded", in: tok + "="},
		{name: "std alphabet", in: "+" + tok[1:]},
		{name: "impossible length", in: tok + "AA"},
		{name: "space", in: tok[:42] + " "},
		{name: "CR ignored by encoding/base64", in: tok[:20] + "\r\r" + tok[20:]},
		{name: "non-canonical last char", in: tok[:42] + "B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The last-char case is only non-canonical if the original
			// ended in a canonical char other than B.
			if tt.name == "non-canonical last char" && tok[42] == 'B' {
				t.Skip("random token already ends in B")
			}
			require.Equal(t, tt.want, Valid(tt.in))
		})
	}
}

func TestHash(t *testing.T) {
	t.Parallel()
	// SHA-256("abc"), FIPS 180-2 appendix B.1.
	require.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Hash("abc"))
	tok, err := New()
	require.NoError(t, err)
	h := Hash(tok)
	require.Len(t, h, 64)
	require.True(t, Matches(tok, h))
	require.False(t, Matches(tok+"x", h))
	require.False(t, Matches(tok, ""))
}

func TestEqual(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		want bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Equal(tt.a, tt.b), "%q vs %q", tt.a, tt.b)
	}
}

func TestNewCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		digits  int
		errText string
	}{
		{digits: 6}, {digits: 8}, {digits: 12},
		{digits: 5, errText: "5 digits outside [6, 12]"},
		{digits: 13, errText: "13 digits outside"},
	}
	for _, tt := range tests {
		t.Run(tt.errText, func(t *testing.T) {
			t.Parallel()
			c, err := NewCode(tt.digits)
			if tt.errText != "" {
				require.ErrorContains(t, err, tt.errText)
				return
			}
			require.NoError(t, err)
			require.True(t, ValidCode(c, tt.digits), c)
		})
	}
	_, err := newCode(bytes.NewReader(nil), 6)
	require.ErrorContains(t, err, "read random")
}

func TestNewCodeZeroPaddedAndUniform(t *testing.T) {
	t.Parallel()
	// A reader of zeros yields the smallest code, padded.
	c, err := newCode(bytes.NewReader(make([]byte, 64)), 6)
	require.NoError(t, err)
	require.Equal(t, "000000", c)

	// First digits of many codes are spread evenly: with modulo bias over
	// a 20-bit draw, '0'..'4' would be visibly over-represented.
	const n = 20000
	counts := [10]int{}
	for range n {
		c, err := newCode(rand.Reader, 6)
		require.NoError(t, err)
		counts[c[0]-'0']++
	}
	for d, k := range counts {
		require.InDelta(t, n/10, k, 300, "leading digit %d", d) // ≈ 7 σ
	}
}

func TestValidCode(t *testing.T) {
	t.Parallel()
	require.True(t, ValidCode("012345", 6))
	require.False(t, ValidCode("01234", 6))
	require.False(t, ValidCode("0123456", 6))
	require.False(t, ValidCode("01234a", 6))
	require.False(t, ValidCode(" 12345", 6))
	require.False(t, ValidCode("１２３４５６", 6))
}

func TestHashCode(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{3}, 32)
	other := bytes.Repeat([]byte{4}, 32)
	stored, err := HashCode(key, "challenge-1", "123456")
	require.NoError(t, err)
	require.Len(t, stored, 64)

	tests := []struct {
		name      string
		key       []byte
		challenge string
		code      string
		want      bool
	}{
		{name: "right", key: key, challenge: "challenge-1", code: "123456", want: true},
		{name: "wrong code", key: key, challenge: "challenge-1", code: "123457"},
		{name: "other challenge", key: key, challenge: "challenge-2", code: "123456"},
		{name: "boundary shift", key: key, challenge: "challenge-11", code: "23456"},
		{name: "other key", key: other, challenge: "challenge-1", code: "123456"},
		{name: "short key", key: key[:31], challenge: "challenge-1", code: "123456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, MatchesCode(tt.key, tt.challenge, tt.code, stored))
		})
	}
	require.False(t, MatchesCode(key, "challenge-1", "123456", ""))
	_, err = HashCode(key[:31], "c", "1")
	require.ErrorIs(t, err, ErrShortKey)
}

func FuzzValid(f *testing.F) {
	tok, err := New()
	require.NoError(f, err)
	for _, s := range []string{tok, "", "=", strings.Repeat("A", 22), strings.Repeat("_", 86), "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !Valid(s) {
			return
		}
		b, err := b64.DecodeString(s)
		require.NoError(t, err)
		require.GreaterOrEqual(t, len(b), MinBytes)
		require.LessOrEqual(t, len(b), MaxBytes)
		require.Equal(t, s, b64.EncodeToString(b), "one encoding per token")
	})
}
