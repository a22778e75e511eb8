package authn_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/store/storetest"
)

// BenchmarkResetUnknownPending is a password-reset request for an unknown
// address, end to end through the service (lookup, risk evaluation, send
// limit, token), with storetest.PendingTokens unused reset tokens already
// in the SQLite store: issue 17 measured these requests slowing down from
// 0.8 to 5.8 ms as tokens piled up (docs/benchmarks.md).
func BenchmarkResetUnknownPending(b *testing.B) {
	for _, pending := range []int{0, storetest.PendingTokens} {
		b.Run(fmt.Sprintf("pending=%d", pending), func(b *testing.B) { benchResetUnknown(b, pending) })
	}
}

func benchResetUnknown(b *testing.B, pending int) {
	f := newFixture(b, fixtureOpts{})
	ctx := b.Context()
	now := f.clock.Now()
	for i := range pending {
		tok := authn.OneTimeToken{ID: uuid.NewString(), Kind: authn.TokenPasswordReset, Hash: []byte(fmt.Sprintf("pending-%032d", i)),
			CreatedAt: now, ExpiresAt: now.Add(30 * time.Minute)}
		if err := f.store.IssueToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
	before := pendingCount(b, f)
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		// Each request from a /64 of its own, so no velocity rule blocks
		// it before it reaches the token store.
		c := client(fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff), fmt.Sprintf("prober-%d", i))
		if err := f.svc.RequestPasswordReset(ctx, authn.PasswordResetRequest{Email: fmt.Sprintf("nobody%d@example.com", i), Client: c}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if got := pendingCount(b, f) - before; got != n {
		b.Fatalf("%d of %d requests stored a token: the rest were blocked before the store", got, n)
	}
}

// pendingCount counts the stored reset tokens that belong to nobody,
// reading the fixture's database file directly.
func pendingCount(tb testing.TB, f *fixture) int {
	tb.Helper()
	db, err := sql.Open("sqlite", filepath.Join(filepath.Dir(f.outbox), "authn.db"))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(tb.Context(), `SELECT count(*) FROM one_time_tokens
		WHERE kind = 'password_reset' AND user_id IS NULL`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}
