package authn_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/password"
)

// BenchmarkLoginBlocked is a blocked sign-in end to end through the
// service: user lookup, risk evaluation, outcome, generic refusal — and no
// argon2id. Target: ≤ 100 µs CPU per attempt.
func BenchmarkLoginBlocked(b *testing.B) {
	f := newFixture(b, fixtureOpts{})
	ctx := b.Context()
	attacker := client("203.0.113.7", "stuffing-tool")
	for i := range 25 {
		_, _ = f.svc.Login(ctx, authn.LoginRequest{Identifier: fmt.Sprintf("victim%d@example.com", i), Password: "guess guess guess", Client: attacker})
	}
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("target%d@example.com", i)
	}
	h := f.hashes(b)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		_, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: ids[i%len(ids)], Password: "guess guess guess", Client: attacker})
		if authn.CodeOf(err) != authn.CodeLoginFailed {
			b.Fatalf("want login_failed, got %v", err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/op")
	if f.hashes(b) != h {
		b.Fatal("a blocked attempt hashed")
	}
}

// BenchmarkLoginPassword is a successful password sign-in at the default
// argon2id parameters (m=19 MiB, t=2), without and with the self-service
// stores a completed sign-in writes (its device and activity entry,
// issue 19): run with -count, the two alternate.
func BenchmarkLoginPassword(b *testing.B) {
	for _, c := range []struct {
		name    string
		off     bool
		privacy bool
	}{{"activity=off", true, false}, {"activity=on", false, false}, {"activity=on,privacy=on", false, true}} {
		b.Run(c.name, func(b *testing.B) {
			// privacy=on: the sign-in also withdraws a pending erasure
			// request (one more write, erasure.go).
			f := newFixture(b, fixtureOpts{params: password.DefaultParams(), noSelfService: c.off, privacy: c.privacy})
			f.register(b, "bench@example.com")
			b.ReportAllocs()
			for b.Loop() {
				f.clock.Advance(3 * time.Second) // stay under the per-IP burst rule
				res := f.login(b, "bench@example.com", home)
				if res.Status != authn.LoginAuthenticated {
					b.Fatalf("status %s", res.Status)
				}
			}
		})
	}
}
