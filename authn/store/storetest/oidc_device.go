package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
)

// testOIDCDevice covers device authorizations: unique live user codes
// (an expired one is purged and its code reusable), one decision, polls
// that record their time, and an approval consumed by exactly one of
// many concurrent polls.
func testOIDCDevice(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	exp := t0.Add(10 * time.Minute)
	r := oidc.DeviceRecord{DeviceCodeHash: hash("dc-1"), UserCodeHash: hash("BCDF-GHJK"), ClientID: "tv", Scopes: []string{"openid", "email"}, ExpiresAt: exp}
	require.NoError(t, s.CreateDeviceAuth(ctx, r, t0))
	dup := r
	dup.DeviceCodeHash = hash("dc-2")
	assert.ErrorIs(t, s.CreateDeviceAuth(ctx, dup, t0), authn.ErrConflict, "a live user code is unique")

	got, err := s.DeviceAuthByUserCode(ctx, hash("BCDF-GHJK"), t0)
	require.NoError(t, err)
	assert.Equal(t, oidc.DevicePending, got.State)
	assert.Equal(t, []string{"openid", "email"}, got.Scopes)
	_, err = s.DeviceAuthByUserCode(ctx, hash("BCDF-GHJK"), exp)
	assert.ErrorIs(t, err, authn.ErrNotFound, "expired")

	p, err := s.PollDeviceAuth(ctx, hash("dc-1"), "tv", t0.Add(time.Second))
	require.NoError(t, err)
	assert.Equal(t, oidc.DevicePending, p.State)
	assert.True(t, p.LastPollAt.IsZero(), "the first poll")
	p, err = s.PollDeviceAuth(ctx, hash("dc-1"), "tv", t0.Add(2*time.Second))
	require.NoError(t, err)
	assert.Equal(t, t0.Add(time.Second), p.LastPollAt)
	_, err = s.PollDeviceAuth(ctx, hash("dc-1"), "other", t0)
	assert.ErrorIs(t, err, authn.ErrNotFound, "another client's device code")

	at := t0.Add(time.Minute)
	d := oidc.DeviceRecord{State: oidc.DeviceApproved, UserID: "u-1", SessionID: "s-1", AuthTime: at, AMR: []string{"pwd"}}
	require.NoError(t, s.DecideDeviceAuth(ctx, hash("BCDF-GHJK"), d, at))
	assert.ErrorIs(t, s.DecideDeviceAuth(ctx, hash("BCDF-GHJK"), d, at), authn.ErrNotFound, "decided once")
	_, err = s.DeviceAuthByUserCode(ctx, hash("BCDF-GHJK"), at)
	assert.ErrorIs(t, err, authn.ErrNotFound, "no longer pending")

	results := make(chan oidc.DeviceRecord, concurrency)
	race(t, concurrency, nil, func(int) error {
		p, err := s.PollDeviceAuth(ctx, hash("dc-1"), "tv", at)
		results <- p
		return err
	})
	close(results)
	approved := 0
	for p := range results {
		if p.State == oidc.DeviceApproved {
			approved++
			assert.Equal(t, "u-1", p.UserID)
			assert.Equal(t, "s-1", p.SessionID)
			assert.Equal(t, at, p.AuthTime)
			assert.Equal(t, []string{"pwd"}, p.AMR)
		} else {
			assert.Equal(t, oidc.DeviceConsumed, p.State)
		}
	}
	assert.Equal(t, 1, approved, "one poll gets the tokens")

	// Expired: purged by the next creation, its user code free again.
	again := oidc.DeviceRecord{DeviceCodeHash: hash("dc-3"), UserCodeHash: hash("BCDF-GHJK"), ClientID: "tv", Scopes: []string{"openid"}, ExpiresAt: exp.Add(time.Hour)}
	require.NoError(t, s.CreateDeviceAuth(ctx, again, exp))
	_, err = s.PollDeviceAuth(ctx, hash("dc-1"), "tv", exp)
	assert.ErrorIs(t, err, authn.ErrNotFound, "purged")
}
