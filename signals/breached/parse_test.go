package breached

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseLine(t *testing.T) {
	t.Parallel()
	const h40 = "000000005AD76BD555C1D6D771DE417A4B87E4B4"
	tests := []struct {
		name   string
		line   string
		digits int
		hi     uint64
		count  uint32
		err    error
	}{
		{"upper", h40 + ":10\n", 40, 0x000000005AD76BD5, 10, nil},
		{"lower", strings.ToLower(h40) + ":10", 40, 0x000000005AD76BD5, 10, nil},
		{"crlf", h40 + ":3\r\n", 40, 0x000000005AD76BD5, 3, nil},
		{"trailing blanks", h40 + ":3 \t\r\n", 40, 0x000000005AD76BD5, 3, nil},
		{"zero count", h40 + ":0", 40, 0x000000005AD76BD5, 0, nil},
		{"huge count clamps", h40 + ":99999999999999999999", 40, 0x000000005AD76BD5, math.MaxUint32, nil},
		{"range suffix", h40[5:] + ":7\r\n", 35, 0x0005AD76BD555C1D, 7, nil},
		{"short range suffix", "ABCDEF:1", 6, 0xABCDEF << 40, 1, nil},
		{"missing count", h40, 40, 0, 0, errNoCount},
		{"missing count crlf", h40 + "\r\n", 40, 0, 0, errNoCount},
		{"empty count", h40 + ":", 40, 0, 0, errBadCount},
		{"bad count", h40 + ":1x", 40, 0, 0, errBadCount},
		{"negative count", h40 + ":-1", 40, 0, 0, errBadCount},
		{"long count", h40 + ":" + strings.Repeat("1", 21), 40, 0, 0, errLongCount},
		{"truncated hash", h40[:20], 40, 0, 0, errBadHash},
		{"truncated hash with count", h40[:39] + ":1", 40, 0, 0, errBadHash},
		{"long hash", h40 + "A:1", 40, 0, 0, errBadHash},
		{"non-hex", "G" + h40[1:] + ":1", 40, 0, 0, errBadHash},
		{"non-hex tail", h40[:39] + "Z:1", 40, 0, 0, errBadHash},
		{"wrong separator", h40 + ";1", 40, 0, 0, errNoCount},
		{"ntlm-length line for sha1", "8846F7EAEE8FB117AD06BDD830B7586C:1", 40, 0, 0, errBadHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hi, count, err := parseLine([]byte(tt.line), tt.digits)
			require.ErrorIs(t, err, tt.err)
			if tt.err == nil {
				require.Equal(t, tt.hi, hi, "%016x", hi)
				require.Equal(t, tt.count, count)
			}
		})
	}
}

func TestParseLineAllocs(t *testing.T) {
	line := []byte("000000005AD76BD555C1D6D771DE417A4B87E4B4:10\r\n")
	bad := []byte("000000005AD76BD555C1D6D771DE417A4B87E4B4;10\r\n")
	allocs := testing.AllocsPerRun(100, func() {
		_, _, _ = parseLine(line, 40)
		_, _, _ = parseLine(bad, 40)
	})
	require.Zero(t, allocs)
}

func FuzzParseLine(f *testing.F) {
	f.Add([]byte("000000005AD76BD555C1D6D771DE417A4B87E4B4:10\r\n"), true)
	f.Add([]byte("0005AD76BD555C1D6D771DE417A4B87E4B4:7"), false)
	f.Add([]byte(":"), true)
	f.Add([]byte("000000005AD76BD555C1D6D771DE417A4B87E4B4:99999999999999999999999"), true)
	f.Fuzz(func(t *testing.T, line []byte, full bool) {
		digits := 35
		if full {
			digits = 40
		}
		hi, count, err := parseLine(line, digits)
		if err != nil {
			return
		}
		// Accepted lines are hex digits, ':', decimal digits, blanks.
		trimmed := bytes.TrimRight(line, "\r\n \t")
		colon := bytes.IndexByte(trimmed, ':')
		if colon != digits {
			t.Fatalf("accepted %q with the colon at %d", line, colon)
		}
		head := string(trimmed[:digits])
		if strings.Trim(strings.ToUpper(head), "0123456789ABCDEF") != "" {
			t.Fatalf("accepted non-hex %q", line)
		}
		want, _ := strconv.ParseUint(head[:16], 16, 64)
		if want != hi {
			t.Fatalf("%q: hi %016x, want %016x", line, hi, want)
		}
		n, perr := strconv.ParseUint(string(trimmed[colon+1:]), 10, 64)
		switch {
		case perr == nil && n <= math.MaxUint32:
			if uint64(count) != n {
				t.Fatalf("%q: count %d, want %d", line, count, n)
			}
		case count != math.MaxUint32:
			t.Fatalf("%q: count %d, want clamped", line, count)
		}
	})
}

func TestCountCode(t *testing.T) {
	t.Parallel()
	for n := uint32(0); n < countExactLimit; n++ {
		require.Equal(t, n, decodeCount(encodeCount(n)))
	}
	prev := uint16(0)
	for _, n := range []uint32{32768, 32769, 40000, 123456, 1 << 20, 37_359_195, math.MaxUint32 - 1, math.MaxUint32} {
		c := encodeCount(n)
		got := decodeCount(c)
		require.LessOrEqual(t, got, n)
		require.Less(t, float64(n-got)/float64(n), 0.001, "n=%d got=%d", n, got)
		require.GreaterOrEqual(t, c, prev)
		prev = c
	}
}
