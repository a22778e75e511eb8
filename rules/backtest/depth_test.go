package backtest_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/rules/backtest"
)

// A recorded-decisions file with deeply nested lines: each is one
// malformed line with the nesting error, and the rest replays as usual.
func TestRunCountsDeepLinesMalformed(t *testing.T) {
	t.Parallel()
	clean := run(t, jsonl(t, 0, false), "candidate.yaml", backtest.Options{})
	in := withProblems(jsonl(t, 0, false), map[int]string{
		2: strings.Repeat("[", 30000) + strings.Repeat("]", 30000),
		5: `{"class_uid":3002,"unmapped":` + strings.Repeat(`{"a":`, 40000),
	})
	rep := run(t, in, "candidate.yaml", backtest.Options{})
	assert.Equal(t, clean.Totals.Malformed+2, rep.Totals.Malformed)
	assert.Equal(t, clean.Totals.Replayed, rep.Totals.Replayed)
	require.Len(t, rep.Problems, len(clean.Problems)+2)
	for _, p := range rep.Problems[:2] {
		assert.Equal(t, backtest.ProblemMalformed, p.Kind)
		assert.Equal(t, "decision event: JSON nested too deeply: more than 32 levels of arrays and objects", p.Error)
	}
	assert.Equal(t, []int64{3, 7}, []int64{rep.Problems[0].Line, rep.Problems[1].Line})
}
