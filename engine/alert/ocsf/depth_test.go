package ocsf_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
)

// deepDecision is a decision message whose feature snapshot buries a
// value under n more levels of objects (velocity's value), below the 4
// of top, unmapped, riskauth and features: it nests 4+n deep.
func deepDecision(n int) []byte {
	return []byte(`{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block","features":{"velocity":` +
		strings.Repeat(`{"k":`, n) + "1" + strings.Repeat("}", n) + `}}}}`)
}

func TestParseDecisionRefusesDeepNesting(t *testing.T) {
	t.Parallel()
	_, err := ocsf.ParseDecision(deepDecision(jsondepth.Limit - 4))
	require.NoError(t, err, "at the limit")
	for _, b := range [][]byte{
		deepDecision(jsondepth.Limit - 3),
		[]byte(strings.Repeat("[", 30000) + strings.Repeat("]", 30000)),
		deepDecision(30000),
	} {
		_, err := ocsf.ParseDecision(b)
		require.ErrorIs(t, err, jsondepth.ErrTooDeep)
		assert.EqualError(t, err, "ocsf: decision event: JSON nested too deeply: more than 32 levels of arrays and objects")
	}
}

// TestParseDecisionDeepWorkIsBounded: refusing a deeply nested message
// costs no more than the error (MemStats deltas, so not parallel).
func TestParseDecisionDeepWorkIsBounded(t *testing.T) {
	const runs = 20
	for _, b := range [][]byte{[]byte(strings.Repeat("[", 30000) + strings.Repeat("]", 30000)), deepDecision(10000)} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range runs {
			_, _ = ocsf.ParseDecision(b)
		}
		runtime.ReadMemStats(&after)
		assert.Less(t, (after.TotalAlloc-before.TotalAlloc)/runs, uint64(64<<10), "heap bytes per refused %d-byte message", len(b))
	}
}
