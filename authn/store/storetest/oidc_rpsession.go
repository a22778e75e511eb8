package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/oidc"
)

// testOIDCRPSessions covers the back-channel logout records: one per
// client and session (a second insert changes nothing), listed per user,
// deleted one by one.
func testOIDCRPSessions(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	a := oidc.RPSession{ClientID: "shop", SessionID: "s-1", UserID: "u-1", CreatedAt: t0}
	b := oidc.RPSession{ClientID: "blog", SessionID: "s-1", UserID: "u-1", CreatedAt: t0.Add(time.Second)}
	c := oidc.RPSession{ClientID: "shop", SessionID: "s-2", UserID: "u-2", CreatedAt: t0}
	for _, r := range []oidc.RPSession{a, b, c, a} {
		require.NoError(t, s.AddRPSession(ctx, r))
	}
	got, err := s.RPSessions(ctx, "u-1")
	require.NoError(t, err)
	assert.Equal(t, []oidc.RPSession{a, b}, got)
	require.NoError(t, s.DeleteRPSession(ctx, "shop", "s-1"))
	require.NoError(t, s.DeleteRPSession(ctx, "shop", "s-1"), "deleting twice is harmless")
	got, err = s.RPSessions(ctx, "u-1")
	require.NoError(t, err)
	assert.Equal(t, []oidc.RPSession{b}, got)
	got, err = s.RPSessions(ctx, "u-2")
	require.NoError(t, err)
	assert.Equal(t, []oidc.RPSession{c}, got)
}
