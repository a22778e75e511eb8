package breached

import (
	"bufio"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// knownPasswords are planted in every synthetic corpus with these counts.
var knownPasswords = map[string]uint32{
	"correct horse battery staple": 1234,
	"Tr0ub4dor&3":                  7,
	"hunter2":                      40000,  // above the exact count range
	"P@ssw0rd!":                    123456, // likewise
	"once-only":                    1,
	"twice-seen":                   2,
	"ünïcødé-pässwörd":             99,
}

// absentPasswords are never in a synthetic corpus.
var absentPasswords = []string{
	"", "x", "not in any corpus 1", "CORRECT HORSE BATTERY STAPLE", "hunter3", "Hunter2",
}

type corpusEntry struct {
	sum   [20]byte
	count uint32
}

// synthCorpus returns n random SHA-1s with heavy-tailed counts plus the
// known passwords, shuffled.
func synthCorpus(n int, seed uint64) []corpusEntry {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]corpusEntry, 0, n+len(knownPasswords))
	for range n {
		var e corpusEntry
		for i := 0; i < 20; i += 8 {
			v := rng.Uint64()
			for j := 0; j < 8 && i+j < 20; j++ {
				e.sum[i+j] = byte(v >> (8 * j))
			}
		}
		// Pareto-like: most entries seen a few times, some millions.
		e.count = uint32(min(math.Floor(1/math.Pow(1-rng.Float64(), 1.2)), 5e7))
		out = append(out, e)
	}
	for p, c := range knownPasswords {
		out = append(out, corpusEntry{sum: sha1.Sum([]byte(p)), count: c})
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// writeCorpus writes the single-file layout (uppercase, CRLF or LF).
func writeCorpus(t testing.TB, path string, entries []corpusEntry, crlf bool) int64 {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	w := bufio.NewWriterSize(f, 1<<20)
	eol := "\n"
	if crlf {
		eol = "\r\n"
	}
	var line []byte
	for _, e := range entries {
		line = line[:0]
		line = hex.AppendEncode(line, e.sum[:])
		line = append(line, ':')
		line = fmt.Appendf(line, "%d%s", e.count, eol)
		copy(line, strings.ToUpper(string(line[:40])))
		_, err := w.Write(line)
		require.NoError(t, err)
	}
	require.NoError(t, w.Flush())
	st, err := f.Stat()
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return st.Size()
}

// writeRangeDir writes the range layout of the official downloader: one
// file per 5-hex prefix, suffix lines sorted, CRLF, some zero-count padding.
func writeRangeDir(t testing.TB, dir string, entries []corpusEntry) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	byPrefix := map[string][]string{}
	for _, e := range entries {
		h := strings.ToUpper(hex.EncodeToString(e.sum[:]))
		byPrefix[h[:5]] = append(byPrefix[h[:5]], fmt.Sprintf("%s:%d", h[5:], e.count))
	}
	for p, lines := range byPrefix {
		slices.Sort(lines)
		lines = append(lines, strings.Repeat("0", 35)+":0") // padding
		require.NoError(t, os.WriteFile(filepath.Join(dir, p+".txt"), []byte(strings.Join(lines, "\r\n")+"\r\n"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("not a range file\n"), 0o644))
}
