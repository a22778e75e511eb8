package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/signals/velocity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// activeRules has an enforced rule on attr.tier == "bad" (block) and a
// shadow rule on attr.tier == "odd" (step_up if it were enforced).
const activeRules = `version: 1
thresholds: { step_up: 40, block: 80 }
rules:
  - id: bad-tier
    description: the app says the account is bad
    when: attr.tier == "bad"
    action: block
  - id: odd-tier
    description: the app says the account is odd
    when: attr.tier == "odd"
    score: 50
    mode: shadow
`

// candidateRules blocks "odd" and lets "bad" through with a step-up.
const candidateRules = `version: 1
thresholds: { step_up: 40, block: 80 }
rules:
  - id: bad-tier-soft
    description: a bad account steps up instead
    when: attr.tier == "bad"
    score: 45
  - id: odd-tier-block
    description: an odd account is blocked
    when: attr.tier == "odd"
    action: block
`

func writeRules(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}

func evalTier(t *testing.T, e *engine.Engine, tier string) *engine.Decision {
	t.Helper()
	ev := engine.Event{Kind: engine.KindLogin, UserID: "u-" + tier, UserAgent: chrome}
	if tier != "" {
		ev.Attributes = map[string]string{"tier": tier}
	}
	d, err := e.Evaluate(context.Background(), ev)
	require.NoError(t, err)
	return d
}

func divergence(f *fixture, from, to, source string) float64 {
	return testutil.ToFloat64(f.metrics.ShadowDivergence().WithLabelValues(from, to, source))
}

// TestShadowDivergence counts divergences for a known set of events, from
// rule-level shadow rules and from a candidate file, and checks that the
// candidate never changes the answer.
func TestShadowDivergence(t *testing.T) {
	dir := t.TempDir()
	f := newEngine(t, options{rulesFile: writeRules(t, dir, "rules.yaml", activeRules)})
	e := f.engine

	// Without a candidate: only rule-level shadow divergence.
	for _, tier := range []string{"odd", "odd", "bad", "", "odd"} {
		d := evalTier(t, e, tier)
		assert.Nil(t, d.Candidate)
	}
	assert.Equal(t, 3.0, divergence(f, "passwordless", "step_up", "rules"))
	assert.Equal(t, 1, testutil.CollectAndCount(f.metrics.ShadowDivergence(), "riskauth_shadow_divergence_total"))

	without := map[string]*engine.Decision{}
	for _, tier := range []string{"odd", "bad", ""} {
		without[tier] = evalTier(t, e, tier)
	}

	cand, err := e.Rules().SetCandidate([]byte(candidateRules), "test")
	require.NoError(t, err)
	for _, tier := range []string{"odd", "bad", "", "odd", "bad", "bad"} {
		d := evalTier(t, e, tier)
		require.NotNil(t, d.Candidate)
		assert.Equal(t, cand.Version, d.Candidate.Version)
		w := without[tier]
		assert.Equal(t, w.Action, d.Action, "the candidate never changes the answer (%q)", tier)
		assert.Equal(t, w.Score, d.Score)
		assert.Equal(t, w.Reasons, d.Reasons)
		switch tier {
		case "odd":
			assert.Equal(t, risk.Block, d.Candidate.Action)
			assert.Equal(t, "odd-tier-block", d.Candidate.Reasons[0].Rule)
		case "bad":
			assert.Equal(t, risk.StepUp, d.Candidate.Action)
			assert.Equal(t, 45.0, d.Candidate.Score)
		default:
			assert.Equal(t, risk.Passwordless, d.Candidate.Action)
			assert.Empty(t, d.Candidate.Reasons)
		}
	}
	assert.Equal(t, 2.0, divergence(f, "passwordless", "block", "candidate"))
	assert.Equal(t, 3.0, divergence(f, "block", "step_up", "candidate"))
	assert.Equal(t, 4.0+2.0, divergence(f, "passwordless", "step_up", "rules"), "3 at first, 1 more before the candidate, 2 with it")
	assert.Equal(t, 3, testutil.CollectAndCount(f.metrics.ShadowDivergence(), "riskauth_shadow_divergence_total"))
	n, last := cand.Rule("odd-tier-block").Hits()
	assert.Equal(t, uint64(2), n)
	assert.NotZero(t, last)

	cleared, err := e.Rules().ClearCandidate("test")
	require.NoError(t, err)
	assert.True(t, cleared)
	assert.Nil(t, evalTier(t, e, "odd").Candidate)
}

// TestRuleFeedback checks that fraud/legit labels count against every
// rule the evaluation matched, without the caller resending them.
func TestRuleFeedback(t *testing.T) {
	dir := t.TempDir()
	f := newEngine(t, options{rulesFile: writeRules(t, dir, "rules.yaml", activeRules)})
	e := f.engine
	_, err := e.Rules().SetCandidate([]byte(candidateRules), "test")
	require.NoError(t, err)
	ctx := context.Background()

	bad := evalTier(t, e, "bad")
	odd := evalTier(t, e, "odd")
	none := evalTier(t, e, "")
	for _, c := range []struct {
		d *engine.Decision
		o engine.Outcome
	}{{bad, engine.OutcomeFraud}, {bad, engine.OutcomeFraud}, {odd, engine.OutcomeLegit}, {none, engine.OutcomeLegit}, {bad, engine.OutcomeFailure}} {
		p, err := e.RecordOutcome(ctx, c.d.EvaluationID, c.o)
		require.NoError(t, err)
		if c.d == bad {
			assert.Equal(t, []string{"bad-tier"}, p.Rules)
			assert.Equal(t, []string{"bad-tier-soft"}, p.CandidateRules)
		}
	}
	fb := f.metrics.RuleFeedback()
	assert.Equal(t, 2.0, testutil.ToFloat64(fb.WithLabelValues("bad-tier", "fraud", "enforce")))
	assert.Equal(t, 2.0, testutil.ToFloat64(fb.WithLabelValues("bad-tier-soft", "fraud", "candidate")))
	assert.Equal(t, 1.0, testutil.ToFloat64(fb.WithLabelValues("odd-tier", "legit", "shadow")))
	assert.Equal(t, 1.0, testutil.ToFloat64(fb.WithLabelValues("odd-tier-block", "legit", "candidate")))
	assert.Equal(t, 4, testutil.CollectAndCount(fb, "riskauth_rule_feedback_total"))
}

// TestPendingRulesRedis is the attribution round trip through a real
// Redis: the engine attaches the matched rules after Load, and an outcome
// reported later (to any instance) gets them back.
//
// The Load that stores the pending evaluation runs under the engine's
// deadline, 50ms by default; the first one also dials Redis. On a loaded
// machine it could miss the deadline: the engine then floors the decision
// and the pending evaluation is never stored, so RecordOutcome answered
// "unknown or expired evaluation id". The deadline is not what this test
// checks (TestUnavailableSignalsFloor does): it gets testenv.Budget.
func TestPendingRulesRedis(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() { client.Close() })
	st, err := velocity.NewRedis(client, velocity.Config{Counters: engine.DefaultCounters(),
		KeyPrefix: fmt.Sprintf("pendrules%d:", time.Now().UnixNano())}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() }) // before the client: it flushes queued annotations
	f := newEngine(t, options{rulesFile: writeRules(t, t.TempDir(), "rules.yaml", activeRules), state: st,
		cfg: engine.Config{Deadline: testenv.Budget}})
	_, err = f.engine.Rules().SetCandidate([]byte(candidateRules), "test")
	require.NoError(t, err)
	d := evalTier(t, f.engine, "odd")
	require.False(t, d.Floored, "the state store answered within the deadline: %+v", d.Signals)
	p, err := f.engine.RecordOutcome(context.Background(), d.EvaluationID, engine.OutcomeLegit)
	require.NoError(t, err)
	assert.Empty(t, p.Rules)
	assert.Equal(t, []string{"odd-tier"}, p.ShadowRules)
	assert.Equal(t, d.Candidate.Version, p.CandidateVersion)
	assert.Equal(t, []string{"odd-tier-block"}, p.CandidateRules)
	assert.Equal(t, 1.0, testutil.ToFloat64(f.metrics.RuleFeedback().WithLabelValues("odd-tier-block", "legit", "candidate")))
}
