package jsonw

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnew\nline\rcr\bbs\ffeed",
		"\x00\x01\x1f\x7f", "München 東京 🙂", "bad \xff utf8 \xc3", "\u2028\u2029", "mixed <\xff> \u2028 é",
	} {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(AppendString(nil, s)), "%q", s)
	}
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), -1, 42, 1 << 53, 1<<53 + 2, 1, -1.5, 0.1, 1e-7, 123456789, 1e21, 1.2345e-9, -3e30, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		want, err := json.Marshal(f)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(AppendFloat(nil, f)), "%v", f)
	}
	assert.Equal(t, "null", string(AppendFloat(nil, math.NaN())))
	assert.Equal(t, "null", string(AppendFloat(nil, math.Inf(-1))))
}

// FuzzAppendFloat: whatever the number, the output is the JSON
// encoding/json would write (null where it refuses).
func FuzzAppendFloat(f *testing.F) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1, 1 << 53, 1<<53 - 1, -(1<<53 + 2), 1e15, 123456789012345, 0.5, -2.5e-8, 1e21, 1e300} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		want, err := json.Marshal(x)
		if err != nil {
			want = []byte("null")
		}
		if got := AppendFloat(nil, x); string(got) != string(want) {
			t.Fatalf("AppendFloat(%v) = %s, encoding/json %s", x, got, want)
		}
	})
}

// FuzzAppendString: whatever the input, the output is the JSON
// encoding/json would write.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "<&>", "\xff", "\u2028", "é\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Skip()
		}
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("AppendString(%q) = %s, encoding/json %s", s, got, want)
		}
	})
}

func BenchmarkAppendString(b *testing.B) {
	s := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = AppendString(buf[:0], s)
	}
}
