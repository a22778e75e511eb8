package totp

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var recoveryShape = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)

func TestGenerateRecoveryCodes(t *testing.T) {
	t.Parallel()
	codes, err := GenerateRecoveryCodes(DefaultRecoveryCodes)
	require.NoError(t, err)
	require.Len(t, codes, 10)
	seen := map[string]bool{}
	for _, c := range codes {
		require.Regexp(t, recoveryShape, c)
		require.False(t, seen[c], "duplicate code")
		seen[c] = true
		n, err := NormaliseRecoveryCode(c)
		require.NoError(t, err)
		require.Equal(t, strings.ReplaceAll(c, "-", ""), n)
	}
	require.GreaterOrEqual(t, RecoveryCodeBits, 60)

	for _, n := range []int{0, -1, 101} {
		_, err := GenerateRecoveryCodes(n)
		require.ErrorContains(t, err, "outside [1, 100]")
	}
	_, err = generateRecoveryCodes(bytes.NewReader(make([]byte, 3)), 1)
	require.ErrorContains(t, err, "read random")
}

func TestRecoveryCodeAlphabetUniform(t *testing.T) {
	t.Parallel()
	// Every byte value maps to a symbol and each symbol gets exactly 8
	// of the 256 byte values: no bias.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	all = append(all, make([]byte, 12-256%12)...)
	codes, err := generateRecoveryCodes(bytes.NewReader(all), len(all)/12)
	require.NoError(t, err)
	counts := map[rune]int{}
	for _, c := range codes {
		for _, r := range strings.ReplaceAll(c, "-", "") {
			counts[r]++
		}
	}
	require.Len(t, counts, 32)
	for r, n := range counts {
		if r == '0' {
			continue // the zero padding adds to '0'
		}
		require.Equal(t, 8, n, "symbol %q", r)
	}
}

func TestNormaliseRecoveryCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{in: "7KQ2-M9XD-4HZT", want: "7KQ2M9XD4HZT"},
		{in: "7kq2 m9xd 4hzt", want: "7KQ2M9XD4HZT"},
		{in: "7kq2m9xd4hzt", want: "7KQ2M9XD4HZT"},
		{in: " 7KQ2--M9XD--4HZT ", want: "7KQ2M9XD4HZT"},
		{in: "OOOO-IIII-LLLL", want: "000011111111"},
		{in: "oooo-iiii-llll", want: "000011111111"},
		{in: "7KQ2-M9XD-4HZ"},       // 11 symbols
		{in: "7KQ2-M9XD-4HZTA"},     // 13 symbols
		{in: "7KQ2-M9XD-4HZU"},      // U is not in the alphabet
		{in: "7KQ2-M9XD-4HZ!"},      // punctuation
		{in: "7KQ2-M9XD-4HZ\u0130"}, // dotted capital I is not ASCII
		{in: "7KQ2_M9XD_4HZT"},
		{in: strings.Repeat("-", 1000)},
		{in: ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := NormaliseRecoveryCode(tt.in)
			if tt.want == "" {
				require.ErrorIs(t, err, ErrInvalidRecoveryCode)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRecoveryHasher(t *testing.T) {
	t.Parallel()
	_, err := NewRecoveryHasher(make([]byte, 31))
	require.ErrorContains(t, err, "31 bytes, want at least 32")

	key := bytes.Repeat([]byte{7}, 32)
	h, err := NewRecoveryHasher(key)
	require.NoError(t, err)
	key[0] = 8 // the hasher keeps its own copy
	h2, err := NewRecoveryHasher(key)
	require.NoError(t, err)

	stored, err := h.Hash("7KQ2-M9XD-4HZT")
	require.NoError(t, err)
	require.Len(t, stored, 64)
	require.NotContains(t, stored, "7KQ2")

	tests := []struct {
		name  string
		h     *RecoveryHasher
		typed string
		want  bool
	}{
		{name: "as shown", h: h, typed: "7KQ2-M9XD-4HZT", want: true},
		{name: "typed loosely", h: h, typed: "7kq2 m9xd 4hzt", want: true},
		{name: "other code", h: h, typed: "7KQ2-M9XD-4HZV"},
		{name: "other key", h: h2, typed: "7KQ2-M9XD-4HZT"},
		{name: "garbage", h: h, typed: "not a code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.h.Verify(tt.typed, stored))
		})
	}
	_, err = h.Hash("nope")
	require.ErrorIs(t, err, ErrInvalidRecoveryCode)
}

func FuzzNormaliseRecoveryCode(f *testing.F) {
	for _, s := range []string{"7KQ2-M9XD-4HZT", "", "oooo-iiii-llll", "\xff\xfe", "7KQ2 M9XD 4HZ\u0130"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormaliseRecoveryCode(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidRecoveryCode)
			return
		}
		require.Len(t, n, recoveryLen)
		for i := 0; i < len(n); i++ {
			require.Contains(t, crockford, string(n[i]))
		}
		again, err := NormaliseRecoveryCode(n)
		require.NoError(t, err)
		require.Equal(t, n, again, "normalising is idempotent")
	})
}
