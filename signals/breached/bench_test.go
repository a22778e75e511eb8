package breached

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// denseCorpus has the real corpus's density within a prefix: n random
// hashes under 4096 of the 2^20 prefixes (first byte 0xAB), ~n/4096 each
// (the full Pwned Passwords corpus has ~950 per prefix).
func denseCorpus(n int) []corpusEntry {
	entries := synthCorpus(n, 77)
	for i := range entries {
		entries[i].sum[0] = 0xAB
	}
	return entries
}

func BenchmarkTableCheck(b *testing.B) {
	entries := denseCorpus(4_000_000)
	out, _ := importFile(b, entries, ImportOptions{Format: FormatTable})
	tb, err := OpenTable(out)
	require.NoError(b, err)
	defer tb.Close()
	ctx := context.Background()
	probes := make([][20]byte, 1<<16)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range probes {
		if i%2 == 0 {
			probes[i] = entries[rng.IntN(len(entries))].sum
		} else {
			for j := range probes[i] {
				probes[i][j] = byte(rng.Uint32())
			}
			probes[i][0] = 0xAB
		}
	}
	b.Run("digest", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tb.CheckSHA1(&probes[i&(len(probes)-1)])
			i++
		}
	})
	b.Run("password", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = tb.Check(ctx, "hunter2")
		}
	})
}

func BenchmarkFilterCheck(b *testing.B) {
	entries := synthCorpus(4_000_000, 78)
	out, _ := importFile(b, entries, ImportOptions{})
	f, err := OpenFilter(out)
	require.NoError(b, err)
	defer f.Close()
	ctx := context.Background()
	b.Run("digest", func(b *testing.B) {
		b.ReportAllocs()
		rng := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			f.contains(rng.Uint64())
		}
	})
	b.Run("password", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = f.Check(ctx, "hunter2")
		}
	})
}

// BenchmarkImport reports lines/s for a whole import (parse, spill, sort,
// build, fsync) of a synthetic single-file corpus.
func BenchmarkImport(b *testing.B) {
	const n = 2_000_000
	dir := b.TempDir()
	in := filepath.Join(dir, "in.txt")
	writeCorpus(b, in, synthCorpus(n, 79), true)
	data, err := os.ReadFile(in)
	require.NoError(b, err)
	require.NoError(b, os.Remove(in))
	for _, format := range []Format{FormatFilter, FormatTable} {
		b.Run(string(format), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var read time.Duration
			cpu0 := cpuTime()
			for b.Loop() {
				start := time.Now()
				var readDone time.Time
				_, err := Import(context.Background(), bytes.NewReader(data), filepath.Join(dir, "out"), ImportOptions{
					Format: format,
					Progress: func(p Progress) {
						if p.Phase == PhaseBuild && readDone.IsZero() {
							readDone = time.Now()
						}
					},
				})
				require.NoError(b, err)
				read += readDone.Sub(start)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "lines/cpu-s")
			}
			b.ReportMetric(float64(n)*float64(b.N)/read.Seconds(), "read-lines/s")
		})
	}
}

// TestLargeCorpus imports a few million lines in both formats and measures
// the filter's false-positive rate and size. Skipped with -short.
func TestLargeCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("large corpus: skipped with -short")
	}
	const n = 3_000_000
	entries := synthCorpus(n, 31)
	dir := t.TempDir()
	in := filepath.Join(dir, "pwned.txt")
	writeCorpus(t, in, entries, true)

	for _, format := range []Format{FormatFilter, FormatTable} {
		f, err := os.Open(in)
		require.NoError(t, err)
		out := filepath.Join(dir, string(format))
		start := time.Now()
		st, err := Import(context.Background(), f, out, ImportOptions{Format: format, MinCount: 2})
		elapsed := time.Since(start)
		require.NoError(t, f.Close())
		require.NoError(t, err)
		t.Logf("%s: %d lines in %v (%.2fM lines/s), %d entries kept (min count 2), %d bytes = %.3f bytes/entry",
			format, st.Lines, elapsed.Round(time.Millisecond), float64(st.Lines)/elapsed.Seconds()/1e6,
			st.Entries, st.OutputBytes, float64(st.OutputBytes)/float64(st.Entries))
		c, err := Open(out)
		require.NoError(t, err)
		kept := 0
		for _, e := range entries {
			r := c.(interface {
				CheckSHA1(*[sha1.Size]byte) Result
			}).CheckSHA1(&e.sum)
			if e.count >= 2 {
				kept++
				if !r.Breached {
					t.Fatalf("false negative %x", e.sum)
				}
			} else if format == FormatTable && r.Breached {
				t.Fatalf("below min count but found: %x", e.sum)
			}
		}
		require.EqualValues(t, kept, st.Entries)
		if flt, ok := c.(*Filter); ok {
			fp := measureFP(flt, 4_000_000)
			t.Logf("filter: measured false-positive rate %.5f%% over 4M random probes (2^-15 = %.5f%%)", 100*fp, 100.0/32768)
			require.Less(t, fp, 0.001) // the 0.1 % target
		}
		require.NoError(t, c.Close())
	}
}

func TestBenchHelpers(t *testing.T) {
	t.Parallel()
	e := denseCorpus(10)
	for _, x := range e {
		require.True(t, strings.HasPrefix(hex.EncodeToString(x.sum[:]), "ab"), fmt.Sprint(x.sum))
	}
}
