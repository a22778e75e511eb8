package velocity

import (
	"context"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The domain/ASN counter (engine.KeyDomainASN) runs in every backend of
// the conformance suite: distinct users of one email domain who signed in
// successfully from one network, the key travelling in the pending
// evaluation (the memory backend's packed form included) to the outcome.
func init() {
	conformanceCases = append(conformanceCases, conformanceCase{
		name: "domain asn distinct users on success",
		counters: []engine.CounterSpec{
			counter("domain_asn_users_90d", engine.CountSuccess, engine.KeyDomainASN, engine.KeyUser, 90*24*time.Hour),
		},
		run: func(t *testing.T, b backend, s engine.StateStore) {
			ctx := context.Background()
			t0 := base()
			const corp = "example.com/AS64500"
			steps := []struct {
				name    string
				keys    engine.Keys
				outcome engine.Outcome
				want    int // the count read by this step's Load
			}{
				{"first user succeeds", engine.Keys{User: "u1", DomainASN: corp}, engine.OutcomeSuccess, 0},
				{"same user again adds nothing", engine.Keys{User: "u1", DomainASN: corp}, engine.OutcomeStepUpPassed, 1},
				{"a failure does not count", engine.Keys{User: "u2", DomainASN: corp}, engine.OutcomeFailure, 1},
				{"second user passes a step-up", engine.Keys{User: "u2", DomainASN: corp}, engine.OutcomeStepUpPassed, 1},
				{"another network is another key", engine.Keys{User: "u3", DomainASN: "example.com/AS64501"}, engine.OutcomeSuccess, 0},
				{"no key (free-mail): read as 0, not counted", engine.Keys{User: "u4"}, engine.OutcomeSuccess, 0},
				{"third user", engine.Keys{User: "u5", DomainASN: corp}, engine.OutcomeSuccess, 2},
				{"read", engine.Keys{User: "u6", DomainASN: corp}, engine.OutcomeFailure, 3},
			}
			for i, st := range steps {
				at := t0.Add(time.Duration(i) * time.Minute)
				snap, id := load(t, s, "login", st.keys, at, engine.Place{ASN: 64500})
				assert.Equal(t, st.want, snap.Counters[0], st.name)
				_, err := s.RecordOutcome(ctx, id, st.outcome, at.Add(time.Second))
				require.NoError(t, err, st.name)
			}
			// Still counted a day on, gone after 90 days.
			snap, _ := load(t, s, "login", engine.Keys{User: "u7", DomainASN: corp}, t0.Add(24*time.Hour), engine.Place{})
			assert.Equal(t, 3, snap.Counters[0], "a day on")
			snap, _ = load(t, s, "login", engine.Keys{User: "u7", DomainASN: corp}, t0.Add(91*24*time.Hour), engine.Place{})
			assert.Equal(t, 0, snap.Counters[0], "91 days on")
		},
	})
}
