package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

// testImports covers the bulk import (issue 20): created, existing on a
// re-run, conflicts with a native account and within the batch, the
// factor written with its user, a dry run that writes nothing, and a
// large batch.
func testImports(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	native := mkUser(t, s, "native@example.com")
	mk := func(ext, email string, totp bool) authn.ImportedUser {
		u := authn.User{ID: newID(t), Email: email, PasswordHash: "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
			CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0, EmailVerifiedAt: t0.Add(-time.Hour), PasswordChangedAt: t0.Add(-time.Hour)}
		iu := authn.ImportedUser{User: u, ExternalID: ext}
		if totp {
			iu.TOTP = &authn.TOTPFactor{ID: newID(t), UserID: u.ID, SealedSecret: []byte("sealed"), CreatedAt: t0, ConfirmedAt: t0}
		}
		return iu
	}
	withProfile := mk("auth0|5", "five@example.com", false)
	withProfile.Profile = &authn.Profile{UserID: withProfile.User.ID, DisplayName: "Five", Locale: "de-CH", UpdatedAt: t0,
		Attributes: map[string]any{"tier": "gold", "points": int64(5)}}
	batch := []authn.ImportedUser{
		mk("auth0|1", "one@example.com", true),
		mk("auth0|2", "native@example.com", false), // taken by a native account
		mk("auth0|3", "three@example.com", false),
		mk("auth0|3", "three-again@example.com", false), // the same external id twice
		mk("auth0|4", "one@example.com", false),         // an address an earlier line took
		withProfile,
	}
	dry, err := s.ImportUsers(ctx, batch, true)
	require.NoError(t, err)
	want := []authn.ImportStatus{authn.ImportCreated, authn.ImportConflict, authn.ImportCreated, authn.ImportConflict, authn.ImportConflict,
		authn.ImportCreated}
	for i, o := range dry {
		assert.Equal(t, want[i], o.Status, "dry run, user %d", i)
	}
	_, err = s.UserByEmail(ctx, "one@example.com")
	require.ErrorIs(t, err, authn.ErrNotFound, "a dry run writes nothing")

	out, err := s.ImportUsers(ctx, batch, false)
	require.NoError(t, err)
	for i, o := range out {
		assert.Equal(t, want[i], o.Status, "user %d", i)
	}
	got, err := s.UserByEmail(ctx, "one@example.com")
	require.NoError(t, err)
	assert.Equal(t, batch[0].User, got, "the account as imported")
	f, err := s.ActiveTOTP(ctx, got.ID)
	require.NoError(t, err)
	assert.Equal(t, []byte("sealed"), f.SealedSecret)
	p, err := s.Profile(ctx, withProfile.User.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(1), p.Version, "an imported profile is version 1")
	assert.Equal(t, "Five", p.DisplayName)
	assert.Equal(t, "de-CH", p.Locale)
	assert.Equal(t, "gold", p.Attributes["tier"])
	assert.EqualValues(t, 5, p.Attributes["points"])
	p, err = s.Profile(ctx, got.ID)
	require.NoError(t, err)
	assert.Zero(t, p.Version, "no profile imported, none stored")
	n, err := s.UserByID(ctx, native.ID)
	require.NoError(t, err)
	assert.Equal(t, native, n, "the native account is untouched")

	// A re-run (or a resumed run) finds them: existing, same ids.
	again, err := s.ImportUsers(ctx, []authn.ImportedUser{mk("auth0|1", "one@example.com", true), mk("auth0|3", "x@example.com", false)}, false)
	require.NoError(t, err)
	assert.Equal(t, authn.ImportOutcome{Status: authn.ImportExisting, UserID: batch[0].User.ID}, again[0])
	assert.Equal(t, authn.ImportOutcome{Status: authn.ImportExisting, UserID: batch[2].User.ID}, again[1])

	// Deleting an imported account frees its external id.
	require.NoError(t, s.DeleteUser(ctx, batch[2].User.ID))
	again, err = s.ImportUsers(ctx, []authn.ImportedUser{mk("auth0|3", "three@example.com", false)}, false)
	require.NoError(t, err)
	assert.Equal(t, authn.ImportCreated, again[0].Status)

	// A batch of 2,000.
	var big []authn.ImportedUser
	for i := range 2000 {
		big = append(big, mk(fmt.Sprintf("big|%d", i), fmt.Sprintf("big%d@example.com", i), i%10 == 0))
	}
	out, err = s.ImportUsers(ctx, big, false)
	require.NoError(t, err)
	for _, o := range out {
		require.Equal(t, authn.ImportCreated, o.Status)
	}
	us, err := s.ListUsers(ctx, authn.UserQuery{EmailPrefix: "big", Limit: 1000})
	require.NoError(t, err)
	assert.Len(t, us, 1000)
}
