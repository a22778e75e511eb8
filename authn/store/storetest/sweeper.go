package storetest

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testSweeper(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "sweep@example.com")
	now := t0.Add(time.Hour)

	_, liveHash := mkSession(t, s, u, now.Add(time.Minute), now.Add(time.Hour))
	mkSession(t, s, u, now.Add(-time.Minute), now.Add(time.Hour)) // idled out
	mkSession(t, s, u, now.Add(time.Minute), now)                 // absolute deadline reached
	revoked, _ := mkSession(t, s, u, now.Add(time.Minute), now.Add(time.Hour))
	require.NoError(t, s.RevokeSession(ctx, u.ID, revoked.ID, t0))

	mkToken(t, s, authn.TokenPasswordReset, u.ID, "", "expired", t0, 0) // expired at t0+15m
	liveTok := mkToken(t, s, authn.TokenMagicLink, u.ID, "", "live", now.Add(-time.Minute), 0)
	mkToken(t, s, authn.TokenEmailVerification, u.ID, "", "recent-dead", now.Add(-20*time.Minute), 0) // dead but recent

	require.NoError(t, s.CreateFlow(ctx, authn.LoginFlow{ID: "old-flow", Identifier: "x", State: "s", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))
	require.NoError(t, s.CreateFlow(ctx, authn.LoginFlow{ID: "live-flow", Identifier: "x", State: "s", CreatedAt: t0, ExpiresAt: now.Add(time.Minute)}))

	n, err := s.DeleteExpired(ctx, now, 30*time.Minute)
	require.NoError(t, err)
	assert.Equal(t, int64(3+1+1), n, "3 sessions, 1 old token, 1 flow")
	_, err = s.SessionByTokenHash(ctx, liveHash, now)
	assert.NoError(t, err)
	list, err := s.ListSessions(ctx, u.ID, now)
	require.NoError(t, err)
	assert.Len(t, list, 1)
	_, err = s.FlowByID(ctx, "live-flow", now)
	assert.NoError(t, err)
	c, err := s.CountTokensSince(ctx, u.ID, authn.TokenEmailVerification, t0)
	require.NoError(t, err)
	assert.Equal(t, 1, c, "recent dead token kept for throttling")
	_, err = s.ConsumeToken(ctx, liveTok.Kind, liveTok.Hash, now)
	assert.NoError(t, err)

	for m := range 5 {
		require.NoError(t, s.RecordAttempt(ctx, authn.Attempt{UserID: u.ID, Factor: authn.FactorPassword, At: t0.Add(time.Duration(m) * 24 * time.Hour)}))
	}
	n, err = s.DeleteAttemptsBefore(ctx, t0.Add(48*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	hist, err := s.RecentLogins(ctx, u.ID, 10)
	require.NoError(t, err)
	assert.Len(t, hist, 3)
}
