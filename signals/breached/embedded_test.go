package breached

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEmbeddedCorpus(t *testing.T) {
	t.Parallel()
	e := NewEmbedded(EmbeddedOptions{})
	require.Equal(t, embeddedEntries, e.Len())
	require.Equal(t, 8*embeddedEntries, len(embeddedCorpus))
	require.Less(t, len(embeddedCorpus), 512<<10)
	// Sorted and distinct: what the search relies on.
	for i := 1; i < e.Len(); i++ {
		require.Less(t, binary.BigEndian.Uint64(e.keys[(i-1)*8:]), binary.BigEndian.Uint64(e.keys[i*8:]))
	}
	// Every key is found by the search (exercises the window fallbacks).
	for i := range e.Len() {
		require.True(t, e.search(e.at(i)), i)
	}
}

func TestEmbeddedCheck(t *testing.T) {
	t.Parallel()
	folded := NewEmbedded(EmbeddedOptions{})
	exact := NewEmbedded(EmbeddedOptions{CaseSensitive: true})
	tests := []struct {
		password      string
		folded, exact bool
	}{
		// From the top and the tail of the list, and its length bounds.
		{"123456", true, true},
		{"password", true, true},
		{"dragon", true, true},
		{"trustno1", true, true},
		{"1qaz2wsx", true, true},
		{"Password", true, false},
		{"PASSWORD", true, false},
		{"DrAgOn", true, false},
		{"", false, false},
		{"a", false, false},
		{"correct horse battery staple", false, false},
		{"password123456789012345", false, false}, // longer than any entry
		{"Ünïcödé", false, false},
		{"PASSWORD\u212a", false, false}, // Kelvin sign lower-cases to 'k'
		{"pässword", false, false},
		{strings.Repeat("A", 100), false, false},
		{"zx9$kQ!v", false, false},
	}
	for _, tt := range tests {
		r, err := folded.Check(context.Background(), tt.password)
		require.NoError(t, err)
		require.Equal(t, Result{Breached: tt.folded}, r, "%q folded", tt.password)
		r, err = exact.Check(context.Background(), tt.password)
		require.NoError(t, err)
		require.Equal(t, Result{Breached: tt.exact}, r, "%q exact", tt.password)
	}
	require.True(t, folded.Local())
}

func TestEmbeddedNoAllocs(t *testing.T) {
	e := NewEmbedded(EmbeddedOptions{})
	ctx := context.Background()
	for _, p := range []string{"password", "Password", "not-in-the-list-x", "Ünïcödé"} {
		allocs := testing.AllocsPerRun(200, func() { _, _ = e.Check(ctx, p) })
		require.Zero(t, allocs, p)
	}
}

func TestLowerInto(t *testing.T) {
	t.Parallel()
	var buf [embeddedMaxLen]byte
	n, changed, fits := lowerInto(&buf, "PassWORD1")
	require.True(t, changed && fits)
	require.Equal(t, "password1", string(buf[:n]))
	_, changed, fits = lowerInto(&buf, "already lower")
	require.True(t, fits)
	require.False(t, changed)
	_, _, fits = lowerInto(&buf, strings.Repeat("A", embeddedMaxLen+1))
	require.False(t, fits)
	n, changed, fits = lowerInto(&buf, "ÀÉ")
	require.True(t, changed && fits)
	require.Equal(t, "àé", string(buf[:n]))
}

func BenchmarkEmbeddedCheck(b *testing.B) {
	e := NewEmbedded(EmbeddedOptions{})
	ctx := context.Background()
	for _, bc := range []struct{ name, pw string }{
		{"hit", "sunshine"},
		{"miss", "Kq8#vL2!pX"},
		{"miss-upper", "Sunshine99xyzQ"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = e.Check(ctx, bc.pw)
			}
		})
	}
}

// BenchmarkSHA1Baseline is the floor every password check pays; compare
// the other benchmarks with it on a busy machine.
func BenchmarkSHA1Baseline(b *testing.B) {
	var sink byte
	for b.Loop() {
		s := digest("sunshine")
		sink ^= s[0]
	}
	_ = sink
}

func BenchmarkEmbeddedSearch(b *testing.B) {
	e := NewEmbedded(EmbeddedOptions{})
	keys := []uint64{e.at(100), e.at(30000), 0x123456789abcdef0, 0xfedcba9876543210}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.search(keys[i&3])
		i++
	}
}
