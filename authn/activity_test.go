package authn_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

// TestActivityRecorded: a sign-in enters the history with its device,
// place, factor, decision and session; a password change enters it as a
// security event; the cap per user drops the oldest.
func TestActivityRecorded(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{cfg: func(c *authn.Config) { c.Account.ActivityMaxPerUser = 3 }})
	const email = "history@example.com"
	f.register(t, email)
	sess := f.login(t, email, home).Session
	require.NotNil(t, sess)
	self := f.svc.Services.SelfService
	got, err := self.ListActivity(t.Context(), sess.Token, "", 0)
	require.NoError(t, err)
	require.Len(t, got, 1)
	a := got[0]
	assert.Equal(t, "login_succeeded", a.Kind)
	assert.Equal(t, sess.ID, a.SessionID)
	assert.Equal(t, "password", a.Factor)
	assert.Equal(t, "198.51.100.10", a.IP)
	assert.NotEmpty(t, a.DeviceID)
	assert.NotEmpty(t, a.EvaluationID)
	assert.Equal(t, "success", a.Outcome)

	f.clock.Advance(time.Minute)
	require.NoError(t, f.svc.ChangePassword(t.Context(), authn.ChangePasswordRequest{SessionToken: sess.Token,
		CurrentPassword: goodPassword, NewPassword: "another good passphrase 7", Client: home}))
	got, err = self.ListActivity(t.Context(), sess.Token, "", 0)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "password_changed", got[0].Kind)

	require.NoError(t, self.RenameDevice(t.Context(), sess.Token, a.DeviceID, "Home laptop", home))
	devs, err := self.Devices(t.Context(), sess.Token)
	require.NoError(t, err)
	require.Len(t, devs, 1)
	assert.Equal(t, "Home laptop", devs[0].Name)
	assert.True(t, devs[0].Current)

	var last *authn.IssuedSession
	for range 3 {
		f.clock.Advance(time.Minute)
		res, err := f.svc.Login(t.Context(), authn.LoginRequest{Identifier: email, Password: "another good passphrase 7", Client: home})
		require.NoError(t, err)
		last = res.Session
		require.NotNil(t, last)
	}
	got, err = self.ListActivity(t.Context(), last.Token, "", 0)
	require.NoError(t, err)
	require.Len(t, got, 3, "capped at 3")
	for _, a := range got {
		assert.Equal(t, "login_succeeded", a.Kind, "the password change, the oldest, went")
	}
}

// TestRetention: the job deletes the entries past the retention, and
// counts them.
func TestRetention(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	const email = "retention@example.com"
	f.register(t, email)
	f.login(t, email, home)
	f.clock.Advance(100 * 24 * time.Hour)
	sess := f.login(t, email, home).Session
	reg := prometheus.NewRegistry()
	r := authn.NewRetention(authn.AccountConfig{ActivityRetention: 30 * 24 * time.Hour}, f.store, f.clock, nil, reg)
	n, ran, err := r.RunOnce(t.Context())
	require.NoError(t, err)
	assert.True(t, ran)
	assert.Equal(t, int64(1), n)
	got, err := f.svc.Services.SelfService.ListActivity(t.Context(), sess.Token, "", 0)
	require.NoError(t, err)
	assert.Len(t, got, 1, "the recent one stays")
	assert.Equal(t, 1, testutil.CollectAndCount(reg, "riskauth_authn_retention_deleted_total"))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "riskauth_authn_retention_deleted_total" {
			assert.Equal(t, 1.0, mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
}
