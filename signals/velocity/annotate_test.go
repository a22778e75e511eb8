package velocity

import (
	"context"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAnnotatePending checks, on every backend, that the matched rules the
// engine attaches after Load come back with the outcome (the Redis JSON
// round trip included), that the flow-outcome claim survives the rewrite,
// and that an unknown id is neither an error nor brought to life.
func TestAnnotatePending(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.open(t, Config{Counters: []engine.CounterSpec{counter("fails_user", engine.CountFailure, engine.KeyUser, "", 10*minute)}})
			a, ok := s.(engine.PendingAnnotator)
			require.True(t, ok, "every backend attaches matched rules")
			ctx := context.Background()
			t0 := base()
			k := engine.Keys{User: "rita", IP: "192.0.2.9"}
			_, id := load(t, s, "login", k, t0, engine.Place{Country: "SE"})

			// A flow outcome first: the annotation must not reset its claim.
			_, err := s.RecordOutcome(ctx, id, engine.OutcomeFailure, t0.Add(time.Second))
			require.NoError(t, err)
			ann := &engine.Pending{EvaluationID: id, Kind: "login", Keys: k, At: t0, Place: engine.Place{Country: "SE"}, RuleSetVersion: "v1",
				Rules: []string{"r-enforced", "r-two"}, ShadowRules: []string{"r-shadow"},
				CandidateVersion: "c0ffee", CandidateRules: []string{"c-rule"}}
			require.NoError(t, a.AnnotatePending(ctx, ann))

			pe, err := s.RecordOutcome(ctx, id, engine.OutcomeFraud, t0.Add(2*time.Second))
			require.NoError(t, err)
			assert.Equal(t, []string{"r-enforced", "r-two"}, pe.Rules)
			assert.Equal(t, []string{"r-shadow"}, pe.ShadowRules)
			assert.Equal(t, "c0ffee", pe.CandidateVersion)
			assert.Equal(t, []string{"c-rule"}, pe.CandidateRules)
			assert.Equal(t, "SE", pe.Place.Country)
			_, err = s.RecordOutcome(ctx, id, engine.OutcomeSuccess, t0.Add(3*time.Second))
			require.ErrorIs(t, err, engine.ErrOutcomeRecorded, "the claim survives the annotation")

			if b.redis != nil {
				ttl, err := b.redis(s).PTTL(ctx, s.(*Redis).pendingKey(id)).Result()
				require.NoError(t, err)
				assert.Greater(t, ttl, time.Duration(0), "the TTL is kept")
			}

			require.NoError(t, a.AnnotatePending(ctx, &engine.Pending{EvaluationID: "no-such-evaluation", Rules: []string{"x"}}))
			_, err = s.RecordOutcome(ctx, "no-such-evaluation", engine.OutcomeFraud, t0)
			require.ErrorIs(t, err, engine.ErrUnknownEvaluation)
		})
	}
}
