package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riskauth/riskauth/authn"
)

// BenchSignIn measures the store work of one password sign-in (look the
// account up, record the attempt, issue the session) with concurrent
// callers, as a server sees it, and reports ops/s.
func BenchSignIn(b *testing.B, s Store) { benchSignIn(b, s, 0, false) }

// BenchSignInActivity is BenchSignIn plus what a completed sign-in adds
// for the self-service surface (authn.core.signInActivity): the device
// refreshed and an activity entry written, with the per-user cap keep
// trimmed in the same transaction. The difference to BenchSignIn, in the
// same run, is the activity write's cost (docs/benchmarks.md).
// With full, every user's history is at the cap before the clock starts,
// so that each write also trims one entry.
func BenchSignInActivity(b *testing.B, s Store, keep int, full bool) { benchSignIn(b, s, keep, full) }

// benchSignIn runs the sign-in store work, with the activity write when
// keep > 0.
func benchSignIn(b *testing.B, s Store, keep int, full bool) {
	ctx := b.Context()
	const nUsers = 256
	users := make([]authn.User, nUsers)
	for i := range users {
		users[i] = authn.User{ID: uuid.NewString(), Email: fmt.Sprintf("bench-%d@example.com", i), CreatedAt: t0, UpdatedAt: t0}
		if err := s.CreateUser(ctx, users[i]); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; full && i < keep; i++ {
		for _, u := range users {
			if err := s.AddActivity(ctx, authn.Activity{ID: uuid.NewString(), UserID: u.ID, At: t0.Add(-time.Duration(keep-i) * time.Hour),
				Kind: "login_succeeded"}, keep); err != nil {
				b.Fatal(err)
			}
		}
	}
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			u, err := s.UserByEmail(ctx, users[i%nUsers].Email)
			if err != nil {
				b.Error(err)
				return
			}
			if err := s.RecordAttempt(ctx, authn.Attempt{UserID: u.ID, Factor: authn.FactorPassword, Success: true,
				IP: "192.0.2.1", DeviceID: "dev", At: t0}); err != nil {
				b.Error(err)
				return
			}
			x := authn.Session{ID: uuid.NewString(), TokenHash: hash(uuid.NewString()), UserID: u.ID, CreatedAt: t0,
				LastSeenAt: t0, IdleExpiresAt: t0.Add(30 * time.Minute), AbsoluteExpiresAt: t0.Add(12 * time.Hour), AAL: authn.AAL1}
			if err := s.CreateSession(ctx, x); err != nil {
				b.Error(err)
				return
			}
			if keep <= 0 {
				continue
			}
			at := t0.Add(time.Duration(i) * time.Millisecond)
			if err := s.RecordSignIn(ctx, authn.UserDevice{UserID: u.ID, DeviceID: "dev", UserAgent: "Mozilla/5.0", IP: "192.0.2.1",
				City: "Zurich", Country: "CH", FirstSeen: at, LastSeen: at}, authn.Activity{ID: uuid.NewString(), UserID: u.ID, At: at, Kind: "login_succeeded",
				IP: "192.0.2.1", City: "Zurich", Country: "CH", DeviceID: "dev", UserAgent: "Mozilla/5.0", Factor: "password",
				Decision: "passwordless", Outcome: "success", SessionID: x.ID, EvaluationID: uuid.NewString()}, keep); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// PendingTokens is how many unused tokens BenchPendingTokens piles up
// first: the state in which issue 17 measured unknown-address requests
// slowing down.
const PendingTokens = 10_000

// BenchPendingTokens measures issuing an unowned password-reset token
// (what a reset request for an unknown address stores) once pending
// unused ones of the same kind are in the table: its cost must not grow
// with them (compare 0 and PendingTokens).
func BenchPendingTokens(b *testing.B, s Store, pending int) {
	ctx := b.Context()
	issue := func() {
		tok := authn.OneTimeToken{ID: uuid.NewString(), Kind: authn.TokenPasswordReset, Hash: hash(uuid.NewString()),
			CreatedAt: t0, ExpiresAt: t0.Add(30 * time.Minute)}
		if err := s.IssueToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	for range pending {
		issue()
	}
	b.ResetTimer()
	for b.Loop() {
		issue()
	}
}
