package seal

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func newSealer(t *testing.T, active string) *Sealer {
	t.Helper()
	s, err := New(map[string][]byte{"k1": key(1), "k2": key(2)}, active)
	require.NoError(t, err)
	return s
}

func TestSealOpen(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "k1")
	ad := AssociatedData("user-1", "totp-1")
	tests := []struct {
		name string
		pt   []byte
	}{
		{name: "seed", pt: []byte("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")},
		{name: "empty", pt: []byte{}},
		{name: "binary", pt: []byte{0, 1, 2, 0xff, ':', ':'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sealed, err := s.Seal(tt.pt, ad)
			require.NoError(t, err)
			require.True(t, bytes.HasPrefix(sealed, []byte("v1:k1:")))
			require.Len(t, sealed, len("v1:k1:")+12+len(tt.pt)+16)
			if len(tt.pt) > 4 {
				require.False(t, bytes.Contains(sealed, tt.pt), "plaintext does not show")
			}
			got, err := s.Open(sealed, ad)
			require.NoError(t, err)
			require.Equal(t, tt.pt, append([]byte{}, got...))

			again, err := s.Seal(tt.pt, ad)
			require.NoError(t, err)
			require.NotEqual(t, sealed, again, "fresh nonce each time")
		})
	}
}

func TestOpenFailures(t *testing.T) {
	t.Parallel()
	s := newSealer(t, "k1")
	ad := AssociatedData("user-1", "totp-1")
	sealed, err := s.Seal([]byte("seed"), ad)
	require.NoError(t, err)
	body := sealed[len("v1:k1:"):]

	other, err := New(map[string][]byte{"k1": key(9)}, "k1")
	require.NoError(t, err)

	tests := []struct {
		name    string
		s       *Sealer
		sealed  []byte
		ad      []byte
		want    error
		errText string
	}{
		{name: "other user", s: s, sealed: sealed, ad: AssociatedData("user-2", "totp-1"), want: ErrDecrypt},
		{name: "other factor", s: s, sealed: sealed, ad: AssociatedData("user-1", "totp-2"), want: ErrDecrypt},
		{name: "no associated data", s: s, sealed: sealed, ad: nil, want: ErrDecrypt},
		{name: "same id other key material", s: other, sealed: sealed, ad: ad, want: ErrDecrypt},
		{name: "relabelled to another key", s: s, sealed: append([]byte("v1:k2:"), body...), ad: ad, want: ErrDecrypt},
		{name: "unknown key", s: s, sealed: append([]byte("v1:k3:"), body...), ad: ad, want: ErrUnknownKey, errText: `"k3"`},
		{name: "v2", s: s, sealed: append([]byte("v2:k1:"), body...), ad: ad, want: ErrUnsupportedVersion},
		{name: "empty", s: s, sealed: nil, ad: ad, want: ErrMalformed, errText: "no version prefix"},
		{name: "no key id", s: s, sealed: []byte("v1:k1"), ad: ad, want: ErrMalformed, errText: "no key id"},
		{name: "empty key id", s: s, sealed: append([]byte("v1::"), body...), ad: ad, want: ErrMalformed},
		{name: "truncated", s: s, sealed: sealed[:len("v1:k1:")+20], ad: ad, want: ErrMalformed, errText: "20 bytes after the header"},
		{name: "huge", s: s, sealed: make([]byte, 1<<20), ad: ad, want: ErrMalformed, errText: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pt, err := tt.s.Open(tt.sealed, tt.ad)
			require.ErrorIs(t, err, tt.want)
			require.ErrorContains(t, err, tt.errText)
			require.Nil(t, pt)
		})
	}

	// Flipping any single bit anywhere is detected.
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		_, err := s.Open(bad, ad)
		require.Error(t, err, "bit flip at byte %d", i)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	ad := AssociatedData("u", "f")
	before := newSealer(t, "k1")
	old, err := before.Seal([]byte("seed"), ad)
	require.NoError(t, err)

	after := newSealer(t, "k2")
	require.Equal(t, "k2", after.ActiveKeyID())
	require.True(t, after.NeedsReseal(old))
	pt, err := after.Open(old, ad)
	require.NoError(t, err, "old key ids still open")
	resealed, err := after.Seal(pt, ad)
	require.NoError(t, err)
	require.False(t, after.NeedsReseal(resealed))
	id, err := KeyID(resealed)
	require.NoError(t, err)
	require.Equal(t, "k2", id)
	require.False(t, after.NeedsReseal([]byte("garbage")))

	// Once k1 is dropped, its values report the missing key precisely.
	dropped, err := New(map[string][]byte{"k2": key(2)}, "k2")
	require.NoError(t, err)
	_, err = dropped.Open(old, ad)
	require.ErrorIs(t, err, ErrUnknownKey)
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		keys    map[string][]byte
		active  string
		errText string
	}{
		{name: "ok", keys: map[string][]byte{"2026-01": key(1)}, active: "2026-01"},
		{name: "no keys", active: "a", errText: "no keys"},
		{name: "short key", keys: map[string][]byte{"a": make([]byte, 16)}, active: "a", errText: `key "a" is 16 bytes, want 32`},
		{name: "bad id", keys: map[string][]byte{"a:b": key(1)}, active: "a:b", errText: "character 2"},
		{name: "long id", keys: map[string][]byte{strings.Repeat("a", 33): key(1)}, active: "a", errText: "1 to 32 characters"},
		{name: "missing active", keys: map[string][]byte{"a": key(1)}, active: "b", errText: `active key "b" is not among`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.keys, tt.active)
			if tt.errText == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.errText)
		})
	}
}

func TestAssociatedData(t *testing.T) {
	t.Parallel()
	require.NotEqual(t, AssociatedData("ab", "c"), AssociatedData("a", "bc"))
	require.NotEqual(t, AssociatedData("", "x"), AssociatedData("x", ""))
	require.Equal(t, AssociatedData("u", "f"), AssociatedData("u", "f"))
}

func FuzzOpen(f *testing.F) {
	s, err := New(map[string][]byte{"k1": key(1), "k2": key(2)}, "k1")
	require.NoError(f, err)
	ad := AssociatedData("u", "f")
	good, err := s.Seal([]byte("seed"), ad)
	require.NoError(f, err)
	f.Add(good, ad)
	f.Add([]byte("v1:k2:"), []byte{})
	f.Add([]byte("v1::::"), []byte("x"))
	f.Add([]byte(":"), []byte(nil))
	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		pt, err := s.Open(sealed, ad)
		if err != nil {
			require.Nil(t, pt)
			return
		}
		// Forging a valid value without the key is infeasible, so anything
		// that opens came from Seal: it must round-trip.
		again, err := s.Seal(pt, ad)
		require.NoError(t, err)
		back, err := s.Open(again, ad)
		require.NoError(t, err)
		require.Equal(t, pt, back)
	})
}
