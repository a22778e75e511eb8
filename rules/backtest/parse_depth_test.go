package backtest

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
)

// deepLine is a decision event whose snapshot buries a value n levels of
// objects below features.velocity: it nests 4+n deep.
func deepLine(n int) []byte {
	return []byte(`{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block","features":{"velocity":` +
		strings.Repeat(`{"k":`, n) + "1" + strings.Repeat("}", n) + `}}}}`)
}

func TestParseRefusesDeepNesting(t *testing.T) {
	t.Parallel()
	p := newParser(testSchema(t))
	rec, err := p.parse(deepLine(jsondepth.Limit - 4))
	require.NoError(t, err, "at the limit")
	assert.Error(t, rec.featuresErr, "a snapshot the schema does not know")
	for _, b := range [][]byte{
		deepLine(jsondepth.Limit - 3),
		[]byte(strings.Repeat("[", 30000) + strings.Repeat("]", 30000)),
		deepLine(30000),
	} {
		_, err := p.parse(b)
		require.ErrorIs(t, err, jsondepth.ErrTooDeep)
		assert.EqualError(t, err, "decision event: JSON nested too deeply: more than 32 levels of arrays and objects")
		check(t, p, b) // ParseDecision refuses it too
	}
}

// TestParseDeepWorkIsBounded: refusing a deeply nested line costs no more
// than the error, where fastjson built one per level up to its limit of
// 300 (MemStats deltas, so not parallel).
func TestParseDeepWorkIsBounded(t *testing.T) {
	const runs = 20
	p := newParser(testSchema(t))
	for _, b := range [][]byte{[]byte(strings.Repeat("[", 30000) + strings.Repeat("]", 30000)), deepLine(30000)} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range runs {
			if _, err := p.parse(b); !errors.Is(err, jsondepth.ErrTooDeep) {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		assert.Less(t, (after.TotalAlloc-before.TotalAlloc)/runs, uint64(64<<10), "heap bytes per refused %d-byte line", len(b))
	}
}
