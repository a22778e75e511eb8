package velocity

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const minute = time.Minute

// conformanceCase is one behaviour every backend must show.
type conformanceCase struct {
	name     string
	counters []engine.CounterSpec
	run      func(t *testing.T, b backend, s engine.StateStore)
}

var conformanceCases = []conformanceCase{
	{
		name: "counts per key, excluding the current event",
		counters: []engine.CounterSpec{
			counter("attempts_user", engine.CountAttempt, engine.KeyUser, "", 10*minute),
			counter("attempts_ip", engine.CountAttempt, engine.KeyIP, "", 10*minute),
		},
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			at := base()
			for i := range 3 {
				snap, _ := load(t, s, "login", engine.Keys{User: "alice", IP: "192.0.2.1"}, at.Add(time.Duration(i)*time.Second), engine.Place{})
				assert.Equal(t, []int{i, i}, snap.Counters, "attempt %d", i)
			}
			snap, _ := load(t, s, "login", engine.Keys{User: "bob", IP: "192.0.2.1"}, at.Add(5*time.Second), engine.Place{})
			assert.Equal(t, []int{0, 3}, snap.Counters)
			snap, _ = load(t, s, "login", engine.Keys{User: "alice", IP: "192.0.2.2"}, at.Add(6*time.Second), engine.Place{})
			assert.Equal(t, []int{3, 0}, snap.Counters)
		},
	},
	{
		name:     "sliding window on a virtual time axis",
		counters: []engine.CounterSpec{counter("attempts_user", engine.CountAttempt, engine.KeyUser, "", 10*minute)},
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			t0 := base() // bucket length 1m, aligned
			k := engine.Keys{User: "carol"}
			steps := []struct {
				at   time.Duration
				want int
			}{
				{0, 0},
				{5 * minute, 1},
				{9*minute + 59*time.Second, 2},  // t0's bucket still inside
				{10 * minute, 2},                // t0's bucket dropped out; 5m, 9m59s remain
				{15*minute + 30*time.Second, 2}, // 5m bucket dropped out; 9m59s, 10m remain
				{20 * minute, 1},                // 15m30s
				// granularity: 20m is in bucket 20; at 30m59s the oldest
				// bucket read is 21, so the 20m event is gone although it
				// is 10m59s old, and 15m30s is gone at 26m.
				{30*minute + 59*time.Second, 0},
				{31 * minute, 1},
				{2 * time.Hour, 0},
			}
			for _, st := range steps {
				snap, _ := load(t, s, "login", k, t0.Add(st.at), engine.Place{})
				assert.Equal(t, st.want, snap.Counters[0], "at +%s", st.at)
			}
			// Reading the past does not see events recorded later.
			snap, _ := load(t, s, "login", engine.Keys{User: "carol"}, t0.Add(-time.Hour), engine.Place{})
			assert.Equal(t, 0, snap.Counters[0])
		},
	},
	{
		name: "granularity is window/10",
		counters: []engine.CounterSpec{
			counter("attempts_user", engine.CountAttempt, engine.KeyUser, "", 10*minute),
		},
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			t0 := base()
			load(t, s, "login", engine.Keys{User: "dave"}, t0.Add(30*time.Second), engine.Place{})
			// 9m45s later: within the window, but its bucket (0) is older
			// than the oldest bucket read (1).
			snap, _ := load(t, s, "other", engine.Keys{User: "dave"}, t0.Add(10*minute+15*time.Second), engine.Place{})
			assert.Equal(t, 0, snap.Counters[0])
			// 9m29s later: counted; a read slightly in the past of the
			// newest write does not see the later event.
			snap, _ = load(t, s, "other", engine.Keys{User: "dave"}, t0.Add(9*minute+59*time.Second), engine.Place{})
			assert.Equal(t, 1, snap.Counters[0])
		},
	},
	{
		name: "distinct counts",
		counters: []engine.CounterSpec{
			counter("users_per_ip", engine.CountAttempt, engine.KeyIP, engine.KeyUser, 10*minute),
			counter("ips_per_user", engine.CountAttempt, engine.KeyUser, engine.KeyIP, 10*minute),
		},
		run: func(t *testing.T, b backend, s engine.StateStore) {
			t0 := base()
			ip := "198.51.100.7"
			for i := range 40 {
				snap, _ := load(t, s, "login", engine.Keys{User: fmt.Sprintf("user%d", i), IP: ip}, t0.Add(time.Duration(i)*time.Second), engine.Place{})
				assert.Equal(t, i, snap.Counters[0], "before user %d", i)
				assert.Equal(t, 0, snap.Counters[1])
				// The same user again adds nothing.
				snap, _ = load(t, s, "login", engine.Keys{User: fmt.Sprintf("user%d", i), IP: ip}, t0.Add(time.Duration(i)*time.Second), engine.Place{})
				assert.Equal(t, i+1, snap.Counters[0], "repeat of user %d", i)
				assert.Equal(t, 1, snap.Counters[1])
			}
			// No user: read, not recorded.
			snap, _ := load(t, s, "login", engine.Keys{IP: ip}, t0.Add(time.Minute), engine.Place{})
			assert.Equal(t, 40, snap.Counters[0], "anonymous")
			snap, _ = load(t, s, "login", engine.Keys{IP: ip}, t0.Add(time.Minute), engine.Place{})
			assert.Equal(t, 40, snap.Counters[0], "anonymous again")
			// One user from many IPs.
			for i := range 5 {
				snap, _ = load(t, s, "login", engine.Keys{User: "erin", IP: fmt.Sprintf("203.0.113.%d", i)}, t0.Add(2*time.Minute), engine.Place{})
				assert.Equal(t, i, snap.Counters[1])
			}
			// Window expiry.
			snap, _ = load(t, s, "login", engine.Keys{User: "user0", IP: ip}, t0.Add(11*time.Minute), engine.Place{})
			assert.Equal(t, 0, snap.Counters[0])
			snap, _ = load(t, s, "login", engine.Keys{User: "user1", IP: ip}, t0.Add(11*time.Minute), engine.Place{})
			assert.Equal(t, 1, snap.Counters[0])
		},
	},
	{
		name: "large distinct count",
		counters: []engine.CounterSpec{
			counter("users_per_ip", engine.CountAttempt, engine.KeyIP, engine.KeyUser, time.Hour),
		},
		run: func(t *testing.T, b backend, s engine.StateStore) {
			t0 := base()
			const n = 2000
			for i := range n {
				_, err := s.Load(context.Background(), &engine.LoadRequest{Kind: "login", At: t0.Add(time.Duration(i) * time.Millisecond),
					Keys: engine.Keys{User: fmt.Sprintf("stuffed-%d@example.com", i), IP: "192.0.2.200"}})
				require.NoError(t, err)
			}
			snap, err := s.Load(context.Background(), &engine.LoadRequest{Kind: "login", At: t0.Add(time.Minute), Keys: engine.Keys{IP: "192.0.2.200"}})
			require.NoError(t, err)
			assert.Equal(t, n, snap.Counters[0], "distinct counts are exact in every backend")
			t.Logf("%s: %d distinct counted as %d", b.name, n, snap.Counters[0])
		},
	},
	{
		name: "attempt and outcome counters",
		counters: []engine.CounterSpec{
			counter("attempts_user", engine.CountAttempt, engine.KeyUser, "", 10*minute),
			counter("fails_user", engine.CountFailure, engine.KeyUser, "", 10*minute),
			counter("logins_user", engine.CountSuccess, engine.KeyUser, "", 10*minute),
			counter("fail_users_ip", engine.CountFailure, engine.KeyIP, engine.KeyUser, 10*minute),
		},
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			ctx := context.Background()
			t0 := base()
			k := engine.Keys{User: "frank", IP: "192.0.2.9"}
			snap, id1 := load(t, s, "login", k, t0, engine.Place{})
			assert.Equal(t, []int{0, 0, 0, 0}, snap.Counters)
			pe, err := s.RecordOutcome(ctx, id1, engine.OutcomeFailure, t0.Add(time.Second))
			require.NoError(t, err)
			assert.Equal(t, id1, pe.EvaluationID)

			snap, id2 := load(t, s, "login", k, t0.Add(10*time.Second), engine.Place{})
			assert.Equal(t, []int{1, 1, 0, 1}, snap.Counters)
			_, err = s.RecordOutcome(ctx, id2, engine.OutcomeStepUpFailed, t0.Add(11*time.Second))
			require.NoError(t, err)

			snap, id3 := load(t, s, "login", k, t0.Add(20*time.Second), engine.Place{})
			assert.Equal(t, []int{2, 2, 0, 1}, snap.Counters)
			_, err = s.RecordOutcome(ctx, id3, engine.OutcomeSuccess, t0.Add(21*time.Second))
			require.NoError(t, err)

			snap, id4 := load(t, s, "login", k, t0.Add(30*time.Second), engine.Place{})
			assert.Equal(t, []int{3, 2, 1, 1}, snap.Counters)
			_, err = s.RecordOutcome(ctx, id4, engine.OutcomeStepUpPassed, t0.Add(31*time.Second))
			require.NoError(t, err)

			snap, _ = load(t, s, "login", k, t0.Add(40*time.Second), engine.Place{})
			assert.Equal(t, []int{4, 2, 2, 1}, snap.Counters)
		},
	},
	{
		name: "outcome counts in the bucket of the event, not of the outcome",
		counters: []engine.CounterSpec{
			counter("fails_user", engine.CountFailure, engine.KeyUser, "", 10*minute),
		},
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			ctx := context.Background()
			t0 := base()
			k := engine.Keys{User: "gina"}
			_, id := load(t, s, "login", k, t0, engine.Place{})
			// Reported 5 minutes late.
			_, err := s.RecordOutcome(ctx, id, engine.OutcomeFailure, t0.Add(5*minute))
			require.NoError(t, err)
			snap, _ := load(t, s, "login", k, t0.Add(9*minute+59*time.Second), engine.Place{})
			assert.Equal(t, 1, snap.Counters[0])
			snap, _ = load(t, s, "login", k, t0.Add(10*minute), engine.Place{})
			assert.Equal(t, 0, snap.Counters[0], "t0's bucket has left the window")
			// An outcome whose bucket is already out of every window is not counted.
			_, id = load(t, s, "login", k, t0.Add(20*minute), engine.Place{})
			_, err = s.RecordOutcome(ctx, id, engine.OutcomeFailure, t0.Add(40*minute))
			require.NoError(t, err)
			snap, _ = load(t, s, "login", k, t0.Add(20*minute), engine.Place{})
			assert.Equal(t, 0, snap.Counters[0])
		},
	},
	{
		name: "kind filters",
		counters: []engine.CounterSpec{
			counter("login_attempts", engine.CountAttempt, engine.KeyIP, "", 10*minute, engine.KindLogin),
			counter("any_attempts", engine.CountAttempt, engine.KeyIP, "", 10*minute),
			counter("reg_fails", engine.CountFailure, engine.KeyIP, "", 10*minute, engine.KindRegistration, engine.KindPasswordReset),
		},
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			ctx := context.Background()
			t0 := base()
			k := engine.Keys{IP: "192.0.2.50"}
			_, id := load(t, s, engine.KindRegistration, k, t0, engine.Place{})
			_, err := s.RecordOutcome(ctx, id, engine.OutcomeFailure, t0)
			require.NoError(t, err)
			_, id = load(t, s, engine.KindLogin, k, t0.Add(time.Second), engine.Place{})
			_, err = s.RecordOutcome(ctx, id, engine.OutcomeFailure, t0.Add(time.Second))
			require.NoError(t, err)
			snap, _ := load(t, s, engine.KindPasswordReset, k, t0.Add(2*time.Second), engine.Place{})
			assert.Equal(t, []int{1, 2, 1}, snap.Counters)
			snap, _ = load(t, s, "custom.kind", k, t0.Add(3*time.Second), engine.Place{})
			assert.Equal(t, []int{1, 3, 1}, snap.Counters)
		},
	},
	{
		name: "empty keys are neither read nor recorded",
		counters: []engine.CounterSpec{
			counter("attempts_ip", engine.CountAttempt, engine.KeyIP, "", 10*minute),
			counter("attempts_device", engine.CountAttempt, engine.KeyDevice, "", 10*minute),
			counter("fails_subnet", engine.CountFailure, engine.KeySubnet, "", 10*minute),
			counter("devices_per_user", engine.CountAttempt, engine.KeyUser, engine.KeyDevice, 10*minute),
		},
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			ctx := context.Background()
			t0 := base()
			snap, id := load(t, s, "login", engine.Keys{}, t0, engine.Place{})
			assert.Equal(t, []int{0, 0, 0, 0}, snap.Counters)
			assert.Equal(t, engine.Profile{}, snap.Profile)
			_, err := s.RecordOutcome(ctx, id, engine.OutcomeFailure, t0)
			require.NoError(t, err)
			snap, id = load(t, s, "login", engine.Keys{User: "hank"}, t0, engine.Place{})
			assert.Equal(t, []int{0, 0, 0, 0}, snap.Counters)
			_, err = s.RecordOutcome(ctx, id, engine.OutcomeSuccess, t0)
			require.NoError(t, err)
			snap, _ = load(t, s, "login", engine.Keys{User: "hank", IP: "192.0.2.3", Device: "d1", Subnet: "192.0.2.0/24"}, t0.Add(time.Second), engine.Place{})
			assert.Equal(t, []int{0, 0, 0, 0}, snap.Counters)
			assert.Equal(t, 1, snap.Profile.Logins)
			snap, _ = load(t, s, "login", engine.Keys{User: "hank", IP: "192.0.2.3", Device: "d1", Subnet: "192.0.2.0/24"}, t0.Add(2*time.Second), engine.Place{})
			assert.Equal(t, []int{1, 1, 0, 1}, snap.Counters)
			// A request without pending evaluation is fine too.
			snap, err = s.Load(ctx, &engine.LoadRequest{Kind: "login", At: t0.Add(3 * time.Second), Keys: engine.Keys{IP: "192.0.2.3"}})
			require.NoError(t, err)
			assert.Equal(t, []int{2, 0, 0, 0}, snap.Counters)
		},
	},
	{
		name: "unknown evaluation and invalid input",
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			ctx := context.Background()
			for _, o := range []engine.Outcome{engine.OutcomeSuccess, engine.OutcomeFraud} {
				_, err := s.RecordOutcome(ctx, "no-such-evaluation", o, base())
				assert.ErrorIs(t, err, engine.ErrUnknownEvaluation)
			}
			_, id := load(t, s, "login", engine.Keys{User: "ivan"}, base(), engine.Place{})
			_, err := s.RecordOutcome(ctx, id, "bogus", base())
			assert.Error(t, err)
			_, err = s.Load(ctx, &engine.LoadRequest{Kind: "login"})
			assert.Error(t, err, "no time")
			_, err = s.Load(ctx, &engine.LoadRequest{Kind: "login", At: base(), Pending: &engine.Pending{}})
			assert.Error(t, err, "no evaluation id")
			assert.NoError(t, s.Ping(ctx))
		},
	},
	{
		name:     "flow outcome is recorded once under concurrency",
		counters: []engine.CounterSpec{counter("fails_user", engine.CountFailure, engine.KeyUser, "", 10*minute), counter("logins_user", engine.CountSuccess, engine.KeyUser, "", 10*minute)},
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			ctx := context.Background()
			t0 := base()
			k := engine.Keys{User: "judy", Device: "dev-j"}
			_, id := load(t, s, "login", k, t0, engine.Place{Country: "NL"})
			const n = 16
			outcomes := []engine.Outcome{engine.OutcomeSuccess, engine.OutcomeFailure, engine.OutcomeStepUpPassed, engine.OutcomeStepUpFailed}
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, errs[i] = s.RecordOutcome(ctx, id, outcomes[i%len(outcomes)], t0.Add(time.Second))
				})
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else {
					assert.ErrorIs(t, err, engine.ErrOutcomeRecorded)
				}
			}
			assert.Equal(t, 1, ok)
			snap, _ := load(t, s, "login", k, t0.Add(2*time.Second), engine.Place{})
			assert.Equal(t, 1, snap.Counters[0]+snap.Counters[1])
			assert.LessOrEqual(t, snap.Profile.Logins, 1)
			// Labels may still come, repeatedly.
			for range 3 {
				pe, err := s.RecordOutcome(ctx, id, engine.OutcomeFraud, t0.Add(time.Hour/2))
				require.NoError(t, err)
				assert.Equal(t, id, pe.EvaluationID)
			}
		},
	},
	{
		name:     "labels repeat and change nothing",
		counters: []engine.CounterSpec{counter("fails_user", engine.CountFailure, engine.KeyUser, "", 10*minute), counter("logins_user", engine.CountSuccess, engine.KeyUser, "", 10*minute)},
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			ctx := context.Background()
			t0 := base()
			k := engine.Keys{User: "kate", IP: "192.0.2.77"}
			_, id := load(t, s, "login", k, t0, engine.Place{Country: "DE", ASN: 3320})
			for _, o := range []engine.Outcome{engine.OutcomeFraud, engine.OutcomeLegit, engine.OutcomeFraud} {
				pe, err := s.RecordOutcome(ctx, id, o, t0.Add(time.Second))
				require.NoError(t, err)
				assert.Equal(t, "DE", pe.Place.Country)
			}
			snap, _ := load(t, s, "login", k, t0.Add(2*time.Second), engine.Place{})
			assert.Equal(t, []int{0, 0}, snap.Counters)
			assert.Equal(t, engine.Profile{}, snap.Profile)
			// The flow outcome can still be recorded after labels.
			_, err := s.RecordOutcome(ctx, id, engine.OutcomeSuccess, t0.Add(3*time.Second))
			require.NoError(t, err)
			_, err = s.RecordOutcome(ctx, id, engine.OutcomeSuccess, t0.Add(3*time.Second))
			require.ErrorIs(t, err, engine.ErrOutcomeRecorded)
		},
	},
	{
		name: "profile updates",
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			ctx := context.Background()
			t0 := base()
			nl := engine.Place{IP: "192.0.2.10", Country: "NL", City: "Amsterdam", Lat: 52.37, Lon: 4.9, AccuracyKm: 20, ASN: 1136, Located: true}
			fr := engine.Place{IP: "198.51.100.20", Country: "FR", City: "Paris", Lat: 48.86, Lon: 2.35, ASN: 3215, Located: true}
			k1 := engine.Keys{User: "leo", IP: nl.IP, Subnet: "192.0.2.0/24", Device: "dev-1"}
			k2 := engine.Keys{User: "leo", IP: fr.IP, Subnet: "198.51.100.0/24", Device: "dev-2"}

			snap, id := load(t, s, "login", k1, t0, nl)
			assert.Equal(t, engine.Profile{}, snap.Profile)
			pe, err := s.RecordOutcome(ctx, id, engine.OutcomeSuccess, t0.Add(time.Second))
			require.NoError(t, err)
			assert.True(t, pe.At.Equal(t0))
			assert.Equal(t, nl, pe.Place)
			assert.Equal(t, k1, pe.Keys)

			snap, id = load(t, s, "login", k2, t0.Add(time.Hour), fr)
			p := snap.Profile
			assert.Equal(t, 1, p.Logins)
			assert.True(t, p.FirstLogin.Equal(t0))
			require.NotNil(t, p.Last)
			assert.True(t, p.Last.At.Equal(t0))
			assert.Equal(t, nl, p.Last.Place)
			assert.Equal(t, "192.0.2.0/24", p.Last.Subnet)
			assert.True(t, p.HasCountry("NL"))
			assert.True(t, p.HasASN(1136))
			require.NotNil(t, p.Device("dev-1"))
			assert.False(t, p.Device("dev-1").Trusted)

			// A failure changes nothing; a passed step-up counts as a
			// sign-in and trusts the device.
			_, err = s.RecordOutcome(ctx, id, engine.OutcomeFailure, t0.Add(time.Hour))
			require.NoError(t, err)
			snap, id = load(t, s, "login", k2, t0.Add(2*time.Hour), fr)
			assert.Equal(t, 1, snap.Profile.Logins)
			_, err = s.RecordOutcome(ctx, id, engine.OutcomeStepUpPassed, t0.Add(2*time.Hour))
			require.NoError(t, err)

			snap, _ = load(t, s, "login", k1, t0.Add(3*time.Hour), nl)
			p = snap.Profile
			assert.Equal(t, 2, p.Logins)
			assert.True(t, p.FirstLogin.Equal(t0))
			assert.True(t, p.Last.At.Equal(t0.Add(2*time.Hour)))
			assert.Equal(t, "FR", p.Last.Country)
			assert.Len(t, p.Countries, 2)
			assert.Len(t, p.ASNs, 2)
			require.NotNil(t, p.Device("dev-2"))
			assert.True(t, p.Device("dev-2").Trusted)
			assert.False(t, p.Device("dev-1").Trusted)

			// Another user is unaffected.
			snap, _ = load(t, s, "login", engine.Keys{User: "mia"}, t0.Add(3*time.Hour), nl)
			assert.Equal(t, engine.Profile{}, snap.Profile)
		},
	},
	{
		name: "concurrent successes lose no profile update",
		run: func(t *testing.T, _ backend, s engine.StateStore) {
			ctx := context.Background()
			t0 := base()
			const n = 24
			ids := make([]string, n)
			for i := range n {
				_, ids[i] = load(t, s, "login", engine.Keys{User: "nina", Device: fmt.Sprintf("dev-%d", i%4)}, t0.Add(time.Duration(i)*time.Second),
					engine.Place{Country: []string{"NL", "BE", "DE"}[i%3], ASN: 1000 + i%5, Located: true})
			}
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					if _, err := s.RecordOutcome(ctx, ids[i], engine.OutcomeSuccess, t0.Add(time.Minute)); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			snap, _ := load(t, s, "login", engine.Keys{User: "nina"}, t0.Add(time.Minute), engine.Place{})
			assert.Equal(t, n, snap.Profile.Logins)
			assert.Len(t, snap.Profile.Countries, 3)
			assert.Len(t, snap.Profile.ASNs, 5)
			assert.Len(t, snap.Profile.Devices, 4)
			total := 0
			for _, c := range snap.Profile.Countries {
				total += c.Count
			}
			assert.Equal(t, n, total)
			assert.True(t, snap.Profile.Last.At.Equal(t0.Add((n-1)*time.Second)))
		},
	},
}

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range conformanceCases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					s := b.open(t, Config{Counters: tc.counters})
					tc.run(t, b, s)
				})
			}
		})
	}
}

// TestPendingExpiry checks that a pending evaluation expires after the
// pending TTL: on the request time axis for memory, by key TTL for Redis.
func TestPendingExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.open(t, Config{PendingTTL: 30 * minute})
			t0 := base()
			written := time.Now()
			_, id := load(t, s, "login", engine.Keys{User: "olga"}, t0, engine.Place{})
			if b.redis != nil {
				r := s.(*Redis)
				ttl, err := b.redis(s).PTTL(ctx, r.pendingKey(id)).Result()
				require.NoError(t, err)
				assertTTL(t, 30*minute, ttl, written)
				// Simulate the expiry without waiting for it.
				require.NoError(t, b.redis(s).Del(ctx, r.pendingKey(id)).Err())
				_, err = s.RecordOutcome(ctx, id, engine.OutcomeSuccess, t0)
				require.ErrorIs(t, err, engine.ErrUnknownEvaluation)
				return
			}
			_, err := s.RecordOutcome(ctx, id, engine.OutcomeLegit, t0.Add(30*minute-time.Second))
			require.NoError(t, err)
			_, err = s.RecordOutcome(ctx, id, engine.OutcomeSuccess, t0.Add(30*minute))
			require.ErrorIs(t, err, engine.ErrUnknownEvaluation)
		})
	}
}
