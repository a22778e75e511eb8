package rules_test

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExplainAgreesWithEvaluate checks that Explain reaches Evaluate's
// decision, score and matches for the default rules on varied features,
// and that it leaves the hit counters alone.
func TestExplainAgreesWithEvaluate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		given map[string]any
	}{
		{"quiet", map[string]any{"event": map[string]any{"kind": "login"}}},
		{"headless and breached", map[string]any{"event": map[string]any{"kind": "login", "headless": true}, "breached": map[string]any{"password": true}}},
		{"stuffing", map[string]any{"velocity": map[string]any{"ip_distinct_users_10m": 25, "user_failures_1h": 6}}},
		{"new device for known user", map[string]any{"user": map[string]any{"known": true}, "device": map[string]any{"present": true}}},
		{"trusted device", map[string]any{"device": map[string]any{"trusted": true}}},
	}
	rs, err := rules.Compile("default.yaml", rules.DefaultFile, schema(t))
	require.NoError(t, err)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := rs.Schema().FeaturesFromMap(tc.given)
			require.NoError(t, err)
			before := hits(rs)
			x := rs.Explain(f, time.Unix(0, 0))
			assert.Equal(t, before, hits(rs), "Explain must not count hits")
			res := rs.Evaluate(f, time.Unix(0, 0))
			assert.Equal(t, res.Action, x.Decision)
			assert.Equal(t, res.Score, x.Score)
			assert.Equal(t, res.ShadowAction, x.ShadowDecision)
			var want, got []string
			for _, m := range res.Matches {
				want = append(want, m.Rule.ID)
			}
			for _, r := range x.Rules {
				if r.Matched && r.Mode == rules.Enforce {
					got = append(got, r.ID)
				}
			}
			assert.ElementsMatch(t, want, got)
			require.Len(t, x.Rules, len(rs.Rules), "every rule is explained")
			var total float64
			for _, c := range x.Contributions {
				total += c.Score
				assert.Equal(t, total, c.Total)
			}
			assert.Equal(t, x.Score, total)
		})
	}
}

func hits(rs *rules.RuleSet) []uint64 {
	var out []uint64
	for _, r := range rs.Rules {
		n, _ := r.Hits()
		out = append(out, n)
	}
	return out
}

// TestExplainConditions checks the breakdown of && / || chains, nested
// chains, helpers and shadow rules.
func TestExplainConditions(t *testing.T) {
	t.Parallel()
	src := []byte(`version: 1
thresholds: { step_up: 40, block: 80 }
lists: { deny: lists/deny-countries.txt }
rules:
  - id: chain
    description: and chain with a nested or
    when: event.kind == "login" && (geo.tor || geo.vpn) && in_list("deny", geo.country)
    score: 50
  - id: single
    description: one condition
    when: breached.password
    score: 10
  - id: shadowed
    description: shadow candidate
    when: geo.tor
    action: block
    mode: shadow
  - id: failing
    description: fails at run time on a non-number
    when: int(attr.plan) > 3
    score: 5
`)
	rs, err := rules.Compile("inline.yaml", src, schema(t), rules.WithBaseDir("../testdata/rules"))
	require.NoError(t, err)
	f, err := rs.Schema().FeaturesFromMap(map[string]any{
		"event": map[string]any{"kind": "login"}, "geo": map[string]any{"tor": true, "country": "KP"},
		"attr": map[string]any{"plan": "free"},
	})
	require.NoError(t, err)
	x := rs.Explain(f, time.Unix(0, 0))

	chain := x.Rules[0]
	assert.True(t, chain.Matched)
	require.Len(t, chain.Why, 3)
	assert.Equal(t, rules.Condition{Expr: `event.kind == "login"`, Value: true}, chain.Why[0])
	assert.Equal(t, "&&", chain.Why[1].Op)
	assert.Equal(t, "geo.tor || geo.vpn", chain.Why[1].Expr)
	assert.Equal(t, true, chain.Why[1].Value)
	require.Len(t, chain.Why[1].Parts, 2)
	assert.Equal(t, false, chain.Why[1].Parts[1].Value)
	assert.Equal(t, "||", chain.Why[1].Parts[1].Op)
	assert.Equal(t, true, chain.Why[2].Value, "helpers work in single conditions")

	assert.Equal(t, []rules.Condition{{Expr: "breached.password", Value: false}}, x.Rules[1].Why)
	assert.False(t, x.Rules[1].Matched)

	assert.True(t, x.Rules[2].Matched)
	assert.NotEmpty(t, x.Rules[3].Error)
	assert.False(t, x.Rules[3].Matched)
	assert.NotEmpty(t, x.Rules[3].Why[0].Error)

	assert.Equal(t, float64(50), x.Score)
	assert.Equal(t, risk.StepUp, x.Decision)
	assert.Equal(t, []rules.ForcedAction{{Rule: "shadowed", Action: risk.Block}}, x.ShadowForced)
	assert.Equal(t, risk.Block, x.ShadowDecision)
	assert.Equal(t, []rules.Contribution{{Rule: "shadowed", Score: 0, Total: 50}}, x.Shadow)
}
