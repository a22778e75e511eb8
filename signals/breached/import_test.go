package breached

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/FastFilter/xorfilter"
	"github.com/stretchr/testify/require"
)

// importFile writes entries as a corpus file and imports it.
func importFile(t testing.TB, entries []corpusEntry, opts ImportOptions) (string, Stats) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "corpus.txt")
	size := writeCorpus(t, in, entries, true)
	f, err := os.Open(in)
	require.NoError(t, err)
	defer f.Close()
	out := filepath.Join(dir, "out.bin")
	opts.TotalBytes = size
	st, err := Import(context.Background(), f, out, opts)
	require.NoError(t, err)
	require.Equal(t, size, st.Bytes)
	return out, st
}

func TestImportTable(t *testing.T) {
	t.Parallel()
	entries := synthCorpus(200_000, 1)
	out, st := importFile(t, entries, ImportOptions{Format: FormatTable})
	require.EqualValues(t, len(entries), st.Lines)
	require.EqualValues(t, len(entries), st.Entries)
	tb, err := OpenTable(out)
	require.NoError(t, err)
	defer tb.Close()
	require.NoError(t, tb.Verify())
	require.Equal(t, int64(headerSize+len(entries)*tableEntrySize+tailPad+tableIndexLen*8), tb.Size())

	for _, e := range entries {
		r := tb.CheckSHA1(&e.sum)
		if want := int(decodeCount(encodeCount(e.count))); !r.Breached || r.Count != want {
			t.Fatalf("%x: %+v, want count %d", e.sum, r, want)
		}
	}
	ctx := context.Background()
	for p, c := range knownPasswords {
		r, err := tb.Check(ctx, p)
		require.NoError(t, err)
		require.True(t, r.Breached, p)
		require.InDelta(t, c, r.Count, float64(c)/1000, p)
	}
	for _, p := range absentPasswords {
		r, err := tb.Check(ctx, p)
		require.NoError(t, err)
		require.False(t, r.Breached, p)
	}
	// Random non-members: the 60-bit truncation makes a false positive
	// about 1e-13 likely here; expect none.
	rng := rand.New(rand.NewPCG(7, 7))
	for range 200_000 {
		var sum [20]byte
		binary.LittleEndian.PutUint64(sum[:], rng.Uint64())
		binary.LittleEndian.PutUint64(sum[8:], rng.Uint64())
		if tb.CheckSHA1(&sum).Breached {
			t.Fatalf("false positive %x", sum)
		}
	}
}

func TestImportFilter(t *testing.T) {
	t.Parallel()
	for _, bits := range []int{8, 12, 15, 16} {
		t.Run(strings.Repeat("k", 1)+string(rune('0'+bits/10))+string(rune('0'+bits%10)), func(t *testing.T) {
			t.Parallel()
			entries := synthCorpus(150_000, uint64(bits))
			out, st := importFile(t, entries, ImportOptions{FingerprintBits: bits})
			require.Equal(t, FormatFilter, st.Format)
			f, err := OpenFilter(out)
			require.NoError(t, err)
			defer f.Close()
			require.NoError(t, f.Verify())
			require.EqualValues(t, len(entries), f.Len())
			for _, e := range entries {
				if !f.CheckSHA1(&e.sum).Breached {
					t.Fatalf("false negative %x", e.sum)
				}
			}
			for p := range knownPasswords {
				r, err := f.Check(context.Background(), p)
				require.NoError(t, err)
				require.Equal(t, Result{Breached: true}, r, p)
			}
			fp := measureFP(f, 1_000_000)
			want := 1 / float64(uint64(1)<<bits)
			t.Logf("k=%d: %.3f bytes/entry, false-positive rate %.6f%% (theory %.6f%%)",
				bits, float64(f.Size())/float64(len(entries)), 100*fp, 100*want)
			require.Less(t, fp, 2*want+5e-6)
		})
	}
}

// measureFP probes n random keys (non-members with overwhelming probability).
func measureFP(f *Filter, n int) float64 {
	rng := rand.New(rand.NewPCG(99, 1))
	hits := 0
	for range n {
		if f.contains(rng.Uint64()) {
			hits++
		}
	}
	return float64(hits) / float64(n)
}

// TestFilterMatchesLibrary guards the hashing this package mirrors from
// xorfilter: at 16 bits the packed lookup must equal BinaryFuse.Contains.
func TestFilterMatchesLibrary(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	keys := make([]uint64, 300_000)
	for i := range keys {
		keys[i] = rng.Uint64()
	}
	lib, err := xorfilter.NewBinaryFuse[uint16](append([]uint64(nil), keys...))
	require.NoError(t, err)

	out := filepath.Join(t.TempDir(), "f.bin")
	a, err := createAtomic(out)
	require.NoError(t, err)
	w := newFilterWriter(a, 16, 0)
	require.NoError(t, w.addShard(append([]uint64(nil), keys...)))
	hdr, err := w.finish(0, 0)
	require.NoError(t, err)
	_, err = a.commit(&hdr)
	require.NoError(t, err)
	f, err := OpenFilter(out)
	require.NoError(t, err)
	defer f.Close()
	for _, k := range keys {
		if !f.contains(k) {
			t.Fatalf("false negative for %x", k)
		}
	}
	for range 1_000_000 {
		if k := rng.Uint64(); lib.Contains(k) != f.contains(k) {
			t.Fatalf("key %x: library %v, packed %v", k, lib.Contains(k), f.contains(k))
		}
	}
}

func TestImportMinCount(t *testing.T) {
	t.Parallel()
	entries := synthCorpus(50_000, 5)
	var kept int
	for _, e := range entries {
		if e.count >= 3 {
			kept++
		}
	}
	for _, format := range []Format{FormatTable, FormatFilter} {
		t.Run(string(format), func(t *testing.T) {
			t.Parallel()
			out, st := importFile(t, entries, ImportOptions{Format: format, MinCount: 3})
			require.EqualValues(t, kept, st.Entries)
			require.EqualValues(t, len(entries)-kept, st.BelowMin)
			c, err := Open(out)
			require.NoError(t, err)
			defer c.Close()
			ctx := context.Background()
			r, err := c.Check(ctx, "twice-seen")
			require.NoError(t, err)
			if format == FormatTable {
				require.False(t, r.Breached) // dropped by the threshold
			}
			r, err = c.Check(ctx, "Tr0ub4dor&3")
			require.NoError(t, err)
			require.True(t, r.Breached)
		})
	}
}

func TestImportRangeDir(t *testing.T) {
	t.Parallel()
	entries := synthCorpus(2_000, 9)
	fromStream, _ := importFile(t, entries, ImportOptions{Format: FormatTable})

	dir := filepath.Join(t.TempDir(), "ranges")
	writeRangeDir(t, dir, entries)
	files, size, err := RangeDirSize(dir)
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "range.tbl")
	st, err := ImportDir(context.Background(), dir, out, ImportOptions{Format: FormatTable, TotalBytes: size})
	require.NoError(t, err)
	require.Equal(t, files, st.Files)
	require.Equal(t, size, st.Bytes)
	require.EqualValues(t, len(entries), st.Entries)
	require.EqualValues(t, files, st.BelowMin) // one zero-count padding line per file

	// Same set, same table, byte for byte.
	a, err := os.ReadFile(fromStream)
	require.NoError(t, err)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.True(t, bytes.Equal(a, b))

	outF := filepath.Join(t.TempDir(), "range.flt")
	_, err = ImportDir(context.Background(), dir, outF, ImportOptions{})
	require.NoError(t, err)
	f, err := OpenFilter(outF)
	require.NoError(t, err)
	defer f.Close()
	for _, e := range entries {
		if !f.CheckSHA1(&e.sum).Breached {
			t.Fatalf("false negative %x", e.sum)
		}
	}
}

func TestImportMalformed(t *testing.T) {
	t.Parallel()
	good := func(p string) string {
		s := sha1.Sum([]byte(p))
		return strings.ToUpper(bytesHex(s[:])) + ":5"
	}
	tests := []struct {
		name    string
		input   string
		line    int64
		reason  error
		lines   int64
		invalid int64
		entries uint64
	}{
		{"garbled middle", good("a") + "\r\n" + good("b") + "\r\nnot a hash\r\n" + good("c") + "\r\n", 3, errBadHash, 4, 1, 3},
		{"truncated last line", good("a") + "\n" + good("b") + "\n" + good("c")[:17], 3, errBadHash, 3, 1, 2},
		{"missing count", good("a") + "\n" + good("b")[:40] + "\n", 2, errNoCount, 2, 1, 1},
		{"blank lines are fine", "\n" + good("a") + "\n\r\n\n" + good("b") + "\nxyz", 6, errBadHash, 3, 1, 2},
		{"over-long line", good("a") + "\n" + strings.Repeat("A", 3<<20) + "\n" + good("b"), 2, errLongLine, 3, 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			_, err := Import(context.Background(), strings.NewReader(tt.input), out, ImportOptions{Format: FormatTable})
			var le *LineError
			require.ErrorAs(t, err, &le)
			require.ErrorIs(t, err, ErrMalformed)
			require.ErrorIs(t, err, tt.reason)
			require.Equal(t, tt.line, le.Line)
			require.Contains(t, err.Error(), "line ")
			requireOnly(t, dir) // nothing written

			st, err := Import(context.Background(), strings.NewReader(tt.input), out, ImportOptions{Format: FormatTable, SkipInvalid: true})
			require.NoError(t, err)
			require.Equal(t, tt.invalid, st.Invalid)
			require.Equal(t, tt.lines, st.Lines)
			require.Equal(t, tt.entries, st.Entries)
			require.Len(t, st.InvalidLines, int(tt.invalid))
			require.Equal(t, tt.line, st.InvalidLines[0].Line)
			requireOnly(t, dir, "out")
		})
	}
}

func bytesHex(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, c := range b {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

// requireOnly checks that dir holds exactly the named entries (no temp
// output, no spill directory).
func requireOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	require.ElementsMatch(t, names, got)
}

type failingReader struct {
	r     io.Reader
	after int64
	n     int64
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.after {
		return 0, errors.New("connection reset")
	}
	if int64(len(p)) > f.after-f.n {
		p = p[:f.after-f.n]
	}
	n, err := f.r.Read(p)
	f.n += int64(n)
	return n, err
}

func TestImportInterrupted(t *testing.T) {
	t.Parallel()
	entries := synthCorpus(300_000, 11)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	writeCorpus(t, in, entries, false)
	data, err := os.ReadFile(in)
	require.NoError(t, err)
	require.NoError(t, os.Remove(in))

	out := filepath.Join(dir, "breached.bin")
	require.NoError(t, os.WriteFile(out, []byte("previous good file"), 0o644))

	for _, format := range []Format{FormatTable, FormatFilter} {
		// Cancelled while reading.
		ctx, cancel := context.WithCancel(context.Background())
		_, err = Import(ctx, bytes.NewReader(data), out, ImportOptions{Format: format, Progress: func(p Progress) {
			if p.Lines >= 100_000 {
				cancel()
			}
		}})
		require.ErrorIs(t, err, context.Canceled)
		requireOnly(t, dir, "breached.bin")

		// Cancelled while building.
		ctx, cancel = context.WithCancel(context.Background())
		_, err = Import(ctx, bytes.NewReader(data), out, ImportOptions{Format: format, Progress: func(p Progress) {
			if p.Phase == PhaseBuild && p.Done == 100 {
				cancel()
			}
		}})
		require.ErrorIs(t, err, context.Canceled)
		requireOnly(t, dir, "breached.bin")

		// The input stream breaks.
		_, err = Import(context.Background(), &failingReader{r: bytes.NewReader(data), after: int64(len(data) / 2)}, out, ImportOptions{Format: format})
		require.ErrorContains(t, err, "connection reset")
		requireOnly(t, dir, "breached.bin")
		cancel()
	}
	prev, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "previous good file", string(prev))

	// A spill directory elsewhere is cleaned up too.
	spill := t.TempDir()
	_, err = Import(context.Background(), strings.NewReader("garbage\n"), out, ImportOptions{TempDir: spill})
	require.Error(t, err)
	requireOnly(t, spill)
}

func TestOpenRejectsBadFiles(t *testing.T) {
	t.Parallel()
	entries := synthCorpus(5_000, 13)
	tbl, _ := importFile(t, entries, ImportOptions{Format: FormatTable})
	flt, _ := importFile(t, entries, ImportOptions{Format: FormatFilter})
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}
	tb, err := os.ReadFile(tbl)
	require.NoError(t, err)
	fb, err := os.ReadFile(flt)
	require.NoError(t, err)

	_, err = OpenTable(write("trunc.tbl", tb[:len(tb)-1]))
	require.ErrorIs(t, err, ErrFormat)
	_, err = OpenFilter(write("trunc.flt", fb[:len(fb)/2]))
	require.ErrorIs(t, err, ErrFormat)
	_, err = OpenTable(write("empty", nil))
	require.ErrorIs(t, err, ErrFormat)
	_, err = Open(write("text", []byte(strings.Repeat("hello world\n", 10))))
	require.ErrorIs(t, err, ErrFormat)
	_, err = OpenTable(flt)
	require.ErrorIs(t, err, ErrFormat)
	_, err = OpenFilter(tbl)
	require.ErrorIs(t, err, ErrFormat)

	// A corrupt prefix index is caught at open; a flipped data bit by Verify.
	bad := bytes.Clone(tb)
	binary.LittleEndian.PutUint64(bad[len(bad)-8*1000:], 1<<40)
	_, err = OpenTable(write("badindex.tbl", bad))
	require.ErrorIs(t, err, ErrFormat)
	bad = bytes.Clone(tb)
	bad[headerSize+10] ^= 1
	t2, err := OpenTable(write("flipped.tbl", bad))
	require.NoError(t, err)
	require.ErrorIs(t, t2.Verify(), ErrFormat)
	require.NoError(t, t2.Close())
}

func TestImportOptionsValidation(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "x")
	_, err := Import(context.Background(), strings.NewReader(""), out, ImportOptions{Format: "bloom"})
	require.ErrorContains(t, err, "unknown format")
	_, err = Import(context.Background(), strings.NewReader(""), out, ImportOptions{FingerprintBits: 20})
	require.ErrorContains(t, err, "fingerprint bits")
	_, err = Import(context.Background(), strings.NewReader(""), "", ImportOptions{})
	require.Error(t, err)

	// An empty corpus is a valid, empty structure.
	for _, format := range []Format{FormatTable, FormatFilter} {
		st, err := Import(context.Background(), strings.NewReader("\r\n"), out, ImportOptions{Format: format})
		require.NoError(t, err)
		require.Zero(t, st.Entries)
		c, err := Open(out)
		require.NoError(t, err)
		r, err := c.Check(context.Background(), "password")
		require.NoError(t, err)
		require.False(t, r.Breached)
		require.NoError(t, c.Close())
	}
}

func TestCorpusCheckNoAllocs(t *testing.T) {
	entries := synthCorpus(10_000, 17)
	for _, format := range []Format{FormatTable, FormatFilter} {
		out, _ := importFile(t, entries, ImportOptions{Format: format})
		c, err := Open(out)
		require.NoError(t, err)
		ctx := context.Background()
		for _, p := range []string{"hunter2", "not there"} {
			allocs := testing.AllocsPerRun(100, func() { _, _ = c.Check(ctx, p) })
			require.Zero(t, allocs, "%s %q", format, p)
		}
		require.NoError(t, c.Close())
	}
}

// TestTableDense exercises the interpolation search: ~12k entries per
// prefix (the real corpus has ~950).
func TestTableDense(t *testing.T) {
	t.Parallel()
	entries := synthCorpus(200_000, 23)
	for i := range entries {
		entries[i].sum[0], entries[i].sum[1] = 0xAB, 0xCD
	}
	// Plus clusters that defeat interpolation: runs of near-equal suffixes.
	for i := range 3000 {
		var e corpusEntry
		e.sum[0], e.sum[1], e.sum[2] = 0xAB, 0xCD, 0x10
		binary.BigEndian.PutUint32(e.sum[3:], uint32(i))
		e.count = uint32(i + 1)
		entries = append(entries, e)
	}
	out, _ := importFile(t, entries, ImportOptions{Format: FormatTable})
	tb, err := OpenTable(out)
	require.NoError(t, err)
	defer tb.Close()
	for _, e := range entries {
		r := tb.CheckSHA1(&e.sum)
		if want := int(decodeCount(encodeCount(e.count))); !r.Breached || r.Count != want {
			t.Fatalf("%x: %+v, want count %d", e.sum, r, want)
		}
	}
	rng := rand.New(rand.NewPCG(8, 8))
	for range 200_000 {
		var sum [20]byte
		binary.LittleEndian.PutUint64(sum[:], rng.Uint64())
		binary.LittleEndian.PutUint64(sum[8:], rng.Uint64())
		sum[0], sum[1] = 0xAB, 0xCD
		if tb.CheckSHA1(&sum).Breached {
			t.Fatalf("false positive %x", sum)
		}
	}
}
