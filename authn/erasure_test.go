package authn_test

import (
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/secevent"
)

// TestErasureJob: a request is carried out only once the grace period has
// passed, by the job, which erases the account, the engine's profile of
// the user and every row keyed to it, keeps a record without personal
// data, announces user_deleted (the id, never the address) and counts its
// work; a sign-in before the date cancels.
func TestErasureJob(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{privacy: true})
	ctx := t.Context()
	self := f.svc.Services.SelfService
	job := authn.NewErasureJob(f.svc.Services, f.reg)
	require.NotNil(t, job)
	const email, kept = "erasure@example.com", "kept@example.com"
	f.register(t, email)
	f.register(t, kept)
	uid, kid := f.userID(t, email), f.userID(t, kept)
	s := f.login(t, email, home).Session
	eng := f.deps.SelfService.Profiler
	p, err := eng.UserProfile(ctx, uid)
	require.NoError(t, err)
	require.Positive(t, p.Logins, "the engine learnt the sign-in")
	require.Equal(t, authn.LoginAuthenticated, f.login(t, kept, client("203.0.113.9", "kept-cookie-000000001")).Status)
	p, err = eng.UserProfile(ctx, kid)
	require.NoError(t, err)
	require.Positive(t, p.Logins)

	r, err := self.RequestDeletion(ctx, s.Token, home)
	require.NoError(t, err)
	assert.True(t, r.DueAt.Equal(f.clock.Now().Add(authn.DefaultDeletionGrace)))
	require.Equal(t, 1, f.events.count(secevent.DeletionRequested, uid))

	n, ran, err := job.RunOnce(ctx)
	require.NoError(t, err)
	assert.True(t, ran)
	assert.Zero(t, n, "not due yet")

	// A sign-in within the grace period cancels.
	f.clock.Advance(24 * time.Hour)
	s = f.login(t, email, home).Session
	require.Equal(t, 1, f.events.count(secevent.DeletionCancelled, uid))
	got, err := self.DeletionStatus(ctx, s.Token)
	require.NoError(t, err)
	assert.Nil(t, got)

	_, err = self.RequestDeletion(ctx, s.Token, home)
	require.NoError(t, err)
	f.clock.Advance(authn.DefaultDeletionGrace + time.Minute)
	n, ran, err = job.RunOnce(ctx)
	require.NoError(t, err)
	assert.True(t, ran)
	assert.Equal(t, 1, n)

	_, err = f.store.UserByID(ctx, uid)
	require.ErrorIs(t, err, authn.ErrNotFound)
	p, err = eng.UserProfile(ctx, uid)
	require.NoError(t, err)
	assert.Zero(t, p.Logins, "the risk profile is gone")
	p, err = eng.UserProfile(ctx, kid)
	require.NoError(t, err)
	assert.Positive(t, p.Logins, "another user's is not")
	ev := f.events.lastFor(secevent.UserDeleted, uid)
	require.NotNil(t, ev)
	assert.Empty(t, ev.Email)
	assert.Equal(t, authn.InitiatorUser, ev.Details["initiator"])
	subject, err := hex.DecodeString(f.svc.Services.SubjectHash(uid))
	require.NoError(t, err)
	rec, err := f.store.ErasureOf(ctx, subject)
	require.NoError(t, err)
	assert.Equal(t, authn.InitiatorUser, rec.Initiator)
	assert.Equal(t, 1, testutil.CollectAndCount(f.reg, "riskauth_authn_erasures_total"), "one series: user, ok")
	require.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP riskauth_authn_erasures_total Accounts erased (GDPR Art. 17), by initiator (user: a due request, admin: the admin API's delete) and result (ok, error).
# TYPE riskauth_authn_erasures_total counter
riskauth_authn_erasures_total{initiator="user",result="ok"} 1
`), "riskauth_authn_erasures_total"))

	n, _, err = job.RunOnce(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left")
	f.register(t, email) // the address is free again
}

// TestAdminDeleteErases: with the privacy rights on, the admin API's
// delete is an erasure: the engine's profile goes too, and the record
// says an administrator asked.
func TestAdminDeleteErases(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{privacy: true})
	ctx := t.Context()
	authn.NewErasureJob(f.svc.Services, f.reg)
	const email = "admin-erased@example.com"
	f.register(t, email)
	uid := f.userID(t, email)
	f.login(t, email, home)
	res, err := f.svc.Services.Admin.Act(ctx, authn.ActionDelete, uid, helpdesk)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	requireAudited(t, f.events.lastFor(secevent.UserDeleted, uid), authn.ActionDelete)
	p, err := f.deps.SelfService.Profiler.UserProfile(ctx, uid)
	require.NoError(t, err)
	assert.Zero(t, p.Logins)
	subject, err := hex.DecodeString(f.svc.Services.SubjectHash(uid))
	require.NoError(t, err)
	rec, err := f.store.ErasureOf(ctx, subject)
	require.NoError(t, err)
	assert.Equal(t, authn.InitiatorAdmin, rec.Initiator)
	assert.True(t, rec.RequestedAt.IsZero())
	_, err = f.svc.Services.Admin.Act(ctx, authn.ActionDelete, uid, helpdesk)
	requireCode(t, err, authn.CodeNotFound)
}
