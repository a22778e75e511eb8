package storetest

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testConsents: the ledger keeps every entry, in order, with all its
// fields; an unknown user's entries are refused as a whole; preferences
// have versions like profiles (one writer per version); DeleteConsents
// removes the user's ledger and preferences and no one else's; both go
// with the user.
func testConsents(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()

	rec := func(u authn.User, purpose string, version int, a authn.ConsentAction, at time.Time) authn.ConsentRecord {
		return authn.ConsentRecord{ID: newID(t), UserID: u.ID, Purpose: purpose, Version: version, Action: a, At: at,
			Source: authn.ConsentSourceAccount, App: "web", IP: "192.0.2.7", UserAgent: "Firefox", SessionID: "s-1"}
	}
	t.Run("ledger", func(t *testing.T) {
		u := mkUser(t, s, "ledger@example.com")
		other := mkUser(t, s, "ledger-other@example.com")
		h, err := s.ConsentHistory(ctx, u.ID)
		require.NoError(t, err)
		assert.Empty(t, h)

		first := []authn.ConsentRecord{rec(u, "terms", 3, authn.ConsentGrant, t0), rec(u, "marketing_email", 1, authn.ConsentGrant, t0)}
		first[0].Source, first[0].App, first[0].SessionID = authn.ConsentSourceRegistration, "", ""
		require.NoError(t, s.AppendConsents(ctx, first))
		later := rec(u, "marketing_email", 1, authn.ConsentWithdraw, t0.Add(time.Hour))
		require.NoError(t, s.AppendConsents(ctx, []authn.ConsentRecord{later}))
		require.NoError(t, s.AppendConsents(ctx, []authn.ConsentRecord{rec(other, "terms", 3, authn.ConsentGrant, t0)}))

		h, err = s.ConsentHistory(ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, h, 3)
		// One instant keeps the order of the ids (UUIDv7: the order of
		// creation).
		assert.Equal(t, []string{first[0].ID, first[1].ID, later.ID}, []string{h[0].ID, h[1].ID, h[2].ID})
		for i, want := range append(first, later) {
			got := h[i]
			assert.True(t, got.At.Equal(want.At))
			got.At = want.At
			assert.Equal(t, want, got)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		u := mkUser(t, s, "ledger-partial@example.com")
		err := s.AppendConsents(ctx, []authn.ConsentRecord{rec(u, "terms", 1, authn.ConsentGrant, t0),
			rec(authn.User{ID: newID(t)}, "terms", 1, authn.ConsentGrant, t0)})
		assert.ErrorIs(t, err, authn.ErrNotFound)
		h, err := s.ConsentHistory(ctx, u.ID)
		require.NoError(t, err)
		assert.Empty(t, h, "all or nothing")
		assert.ErrorIs(t, s.PutPreferences(ctx, authn.Preferences{UserID: newID(t), UpdatedAt: t0}, 0), authn.ErrNotFound)
	})
	t.Run("preferences", func(t *testing.T) {
		u := mkUser(t, s, "prefs@example.com")
		p, err := s.Preferences(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, authn.Preferences{UserID: u.ID}, p)

		p = authn.Preferences{UserID: u.ID, Channels: []string{"email", "sms"}, Topics: []string{"newsletter"}, Language: "de-CH", UpdatedAt: t0}
		require.NoError(t, s.PutPreferences(ctx, p, 0))
		assert.ErrorIs(t, s.PutPreferences(ctx, p, 0), authn.ErrConflict, "a second first write")
		got, err := s.Preferences(ctx, u.ID)
		require.NoError(t, err)
		assert.True(t, got.UpdatedAt.Equal(t0))
		got.UpdatedAt = t0
		p.Version = 1
		assert.Equal(t, p, got)

		p.Channels, p.Topics, p.Language, p.UpdatedAt = nil, nil, "", t0.Add(time.Minute)
		assert.ErrorIs(t, s.PutPreferences(ctx, p, 2), authn.ErrConflict, "a version from the future")
		require.NoError(t, s.PutPreferences(ctx, p, 1))
		got, err = s.Preferences(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
		assert.Empty(t, got.Channels)
		assert.Empty(t, got.Topics)
		assert.Empty(t, got.Language)
	})
	t.Run("one writer per version", func(t *testing.T) {
		u := mkUser(t, s, "prefs-race@example.com")
		require.NoError(t, s.PutPreferences(ctx, authn.Preferences{UserID: u.ID, UpdatedAt: t0}, 0))
		wins := race(t, concurrency, authn.ErrConflict, func(i int) error {
			return s.PutPreferences(ctx, authn.Preferences{UserID: u.ID, Topics: []string{"t"}, UpdatedAt: t0}, 1)
		})
		assert.Equal(t, 1, wins)
	})
	t.Run("delete", func(t *testing.T) {
		u := mkUser(t, s, "erase-consents@example.com")
		keep := mkUser(t, s, "keep-consents@example.com")
		for _, x := range []authn.User{u, keep} {
			require.NoError(t, s.AppendConsents(ctx, []authn.ConsentRecord{rec(x, "terms", 1, authn.ConsentGrant, t0),
				rec(x, "analytics", 1, authn.ConsentGrant, t0)}))
			require.NoError(t, s.PutPreferences(ctx, authn.Preferences{UserID: x.ID, Topics: []string{"t"}, UpdatedAt: t0}, 0))
		}
		ch := authn.EmailChange{ID: newID(t), UserID: u.ID, OldEmail: u.Email, NewEmail: "erased-new@example.com", CreatedAt: t0, ExpiresAt: t0}
		require.NoError(t, s.CreateEmailChange(ctx, ch))
		n, err := s.DeleteConsents(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(4), n, "two entries, the preferences and the email change")
		_, err = s.EmailChangeByID(ctx, ch.ID)
		assert.ErrorIs(t, err, authn.ErrNotFound)
		h, err := s.ConsentHistory(ctx, u.ID)
		require.NoError(t, err)
		assert.Empty(t, h)
		p, err := s.Preferences(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(0), p.Version)
		n, err = s.DeleteConsents(ctx, u.ID)
		require.NoError(t, err)
		assert.Zero(t, n, "a second erasure finds nothing")

		h, err = s.ConsentHistory(ctx, keep.ID)
		require.NoError(t, err)
		assert.Len(t, h, 2, "another user's ledger stays")
		p, err = s.Preferences(ctx, keep.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(1), p.Version)

		require.NoError(t, s.DeleteUser(ctx, keep.ID))
		h, err = s.ConsentHistory(ctx, keep.ID)
		require.NoError(t, err)
		assert.Empty(t, h, "the ledger goes with the user")
	})
}
