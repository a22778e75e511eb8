package storetest

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testDeletionRequests: a request is kept once (a second keeps the first
// dates), listed when due, oldest first, cancelled once, refused for an
// unknown user and gone with the account.
func testDeletionRequests(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	a := mkUser(t, s, "erase-a@example.com")
	b := mkUser(t, s, "erase-b@example.com")
	grace := 7 * 24 * time.Hour

	got, err := s.RequestDeletion(ctx, authn.DeletionRequest{UserID: a.ID, RequestedAt: t0, DueAt: t0.Add(grace)})
	require.NoError(t, err)
	assert.True(t, got.DueAt.Equal(t0.Add(grace)))
	got, err = s.RequestDeletion(ctx, authn.DeletionRequest{UserID: a.ID, RequestedAt: t0.Add(time.Hour), DueAt: t0.Add(time.Hour + grace)})
	require.NoError(t, err)
	assert.True(t, got.RequestedAt.Equal(t0), "a second request keeps the first")
	assert.True(t, got.DueAt.Equal(t0.Add(grace)))
	_, err = s.RequestDeletion(ctx, authn.DeletionRequest{UserID: b.ID, RequestedAt: t0.Add(-time.Hour), DueAt: t0.Add(grace - time.Hour)})
	require.NoError(t, err)
	_, err = s.RequestDeletion(ctx, authn.DeletionRequest{UserID: newID(t), RequestedAt: t0, DueAt: t0})
	assert.ErrorIs(t, err, authn.ErrNotFound)

	p, err := s.PendingDeletion(ctx, a.ID)
	require.NoError(t, err)
	assert.True(t, p.RequestedAt.Equal(t0))

	due, err := s.DueDeletions(ctx, t0.Add(grace-2*time.Hour), 10)
	require.NoError(t, err)
	assert.Empty(t, due)
	due, err = s.DueDeletions(ctx, t0.Add(grace), 10)
	require.NoError(t, err)
	require.Len(t, due, 2)
	assert.Equal(t, b.ID, due[0].UserID, "oldest first")
	assert.Equal(t, a.ID, due[1].UserID)
	due, err = s.DueDeletions(ctx, t0.Add(grace), 1)
	require.NoError(t, err)
	assert.Len(t, due, 1)

	ok, err := s.CancelDeletion(ctx, a.ID)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.CancelDeletion(ctx, a.ID)
	require.NoError(t, err)
	assert.False(t, ok)
	_, err = s.PendingDeletion(ctx, a.ID)
	assert.ErrorIs(t, err, authn.ErrNotFound)

	require.NoError(t, s.DeleteUser(ctx, b.ID))
	_, err = s.PendingDeletion(ctx, b.ID)
	assert.ErrorIs(t, err, authn.ErrNotFound, "the request goes with the account")
}

// testEraseUser: the erasure removes the account and every row keyed to
// it (profile, devices, activity, sessions, factors, tokens, attempts,
// the request), keeps the record of it, answers ErrNotFound the second
// time (no second record) and leaves other users alone. The lock is held
// by one holder at a time.
func testEraseUser(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "erased@example.com")
	other := mkUser(t, s, "kept@example.com")
	for _, id := range []string{u.ID, other.ID} {
		require.NoError(t, s.PutProfile(ctx, authn.Profile{UserID: id, DisplayName: "Name", UpdatedAt: t0}, 0))
		require.NoError(t, s.RecordSignIn(ctx, authn.UserDevice{UserID: id, DeviceID: "d1", FirstSeen: t0, LastSeen: t0},
			authn.Activity{ID: newID(t), UserID: id, At: t0, Kind: "login_succeeded"}, 10))
		require.NoError(t, s.CreateSession(ctx, authn.Session{ID: newID(t), TokenHash: randBytes(t), UserID: id, CreatedAt: t0,
			LastSeenAt: t0, IdleExpiresAt: t0.Add(time.Hour), AbsoluteExpiresAt: t0.Add(time.Hour), AAL: authn.AAL1}))
		require.NoError(t, s.RecordAttempt(ctx, authn.Attempt{UserID: id, Factor: authn.FactorPassword, Success: true, At: t0}))
		require.NoError(t, s.IssueToken(ctx, authn.OneTimeToken{ID: newID(t), Kind: authn.TokenPasswordReset, Hash: randBytes(t),
			UserID: id, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	}
	_, err := s.RequestDeletion(ctx, authn.DeletionRequest{UserID: u.ID, RequestedAt: t0, DueAt: t0.Add(time.Hour)})
	require.NoError(t, err)

	rec := authn.ErasureRecord{Subject: hash("subject:" + u.ID), RequestedAt: t0, ErasedAt: t0.Add(time.Hour), Initiator: "user"}
	require.NoError(t, s.EraseUser(ctx, u.ID, rec))
	assert.ErrorIs(t, s.EraseUser(ctx, u.ID, authn.ErasureRecord{Subject: hash("x"), ErasedAt: t0, Initiator: "admin"}), authn.ErrNotFound)
	_, err = s.ErasureOf(ctx, hash("x"))
	assert.ErrorIs(t, err, authn.ErrNotFound, "no record for a failed erasure")

	got, err := s.ErasureOf(ctx, rec.Subject)
	require.NoError(t, err)
	assert.True(t, got.ErasedAt.Equal(rec.ErasedAt))
	assert.True(t, got.RequestedAt.Equal(t0))
	assert.Equal(t, "user", got.Initiator)

	_, err = s.UserByID(ctx, u.ID)
	assert.ErrorIs(t, err, authn.ErrNotFound)
	for _, c := range []struct {
		id   string
		want int
	}{{u.ID, 0}, {other.ID, 1}} {
		ds, err := s.Devices(ctx, c.id)
		require.NoError(t, err)
		assert.Len(t, ds, c.want)
		as, err := s.ListActivity(ctx, c.id, time.Time{}, "", 10)
		require.NoError(t, err)
		assert.Len(t, as, c.want)
		ss, err := s.ListSessions(ctx, c.id, t0)
		require.NoError(t, err)
		assert.Len(t, ss, c.want)
		n, err := s.CountTokensSince(ctx, c.id, authn.TokenPasswordReset, t0.Add(-time.Hour))
		require.NoError(t, err)
		assert.Equal(t, c.want, n)
		at, err := s.RecentLogins(ctx, c.id, 10)
		require.NoError(t, err)
		assert.Len(t, at, c.want)
	}
	p, err := s.Profile(ctx, u.ID)
	require.NoError(t, err)
	assert.Zero(t, p.Version)
	_, err = s.PendingDeletion(ctx, u.ID)
	assert.ErrorIs(t, err, authn.ErrNotFound)

	release, ok, err := s.LockErasure(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	release()
	release, ok, err = s.LockErasure(ctx)
	require.NoError(t, err)
	require.True(t, ok, "free again after release")
	release()
}

// testUnverifiedRetention: only accounts never verified, created before
// the cut, not imported and without a session seen since go, at most
// limit at a time.
func testUnverifiedRetention(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	mk := func(email string, created time.Time, verified bool) authn.User {
		u := authn.User{ID: newID(t), Email: email, CreatedAt: created, UpdatedAt: created}
		if verified {
			u.EmailVerifiedAt = created
		}
		require.NoError(t, s.CreateUser(ctx, u))
		return u
	}
	cut := t0.Add(-30 * 24 * time.Hour)
	old1 := mk("old1@example.com", cut.Add(-2*time.Hour), false)
	old2 := mk("old2@example.com", cut.Add(-time.Hour), false)
	verified := mk("verified@example.com", cut.Add(-time.Hour), true)
	recent := mk("recent@example.com", cut.Add(time.Hour), false)
	active := mk("active@example.com", cut.Add(-time.Hour), false)
	require.NoError(t, s.CreateSession(ctx, authn.Session{ID: newID(t), TokenHash: randBytes(t), UserID: active.ID, CreatedAt: t0,
		LastSeenAt: t0, IdleExpiresAt: t0.Add(time.Hour), AbsoluteExpiresAt: t0.Add(time.Hour), AAL: authn.AAL1}))
	imported := authn.ImportedUser{User: authn.User{ID: newID(t), Email: "imported@example.com", CreatedAt: cut.Add(-time.Hour),
		UpdatedAt: cut}, ExternalID: "ext|1"}
	_, err := s.ImportUsers(ctx, []authn.ImportedUser{imported}, false)
	require.NoError(t, err)

	n, ran, err := s.DeleteUnverifiedBefore(ctx, cut, 1)
	require.NoError(t, err)
	assert.True(t, ran)
	assert.Equal(t, int64(1), n, "at most limit")
	n, _, err = s.DeleteUnverifiedBefore(ctx, cut, 10)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	for _, u := range []authn.User{old1, old2} {
		_, err := s.UserByID(ctx, u.ID)
		assert.ErrorIs(t, err, authn.ErrNotFound, u.Email)
	}
	for _, id := range []string{verified.ID, recent.ID, active.ID, imported.User.ID} {
		_, err := s.UserByID(ctx, id)
		assert.NoError(t, err)
	}
}
