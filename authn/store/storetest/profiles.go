package storetest

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testProfiles: a user without a profile reads as version 0; every write
// names the version it was made against and only one writer of a version
// wins; values (attributes of every type) survive the round trip.
func testProfiles(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()

	t.Run("none yet", func(t *testing.T) {
		u := mkUser(t, s, "nobody-profile@example.com")
		p, err := s.Profile(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, authn.Profile{UserID: u.ID, Attributes: map[string]any{}}, p)
	})
	t.Run("versions", func(t *testing.T) {
		u := mkUser(t, s, "versions@example.com")
		p := authn.Profile{UserID: u.ID, DisplayName: "Zoë", GivenName: "Zoë", FamilyName: "Ng", Locale: "de-CH",
			TimeZone: "Europe/Zurich", UpdatedAt: t0,
			Attributes: map[string]any{"tier": "gold", "points": int64(42), "ratio": 0.5, "newsletter": true}}
		require.NoError(t, s.PutProfile(ctx, p, 0))
		assert.ErrorIs(t, s.PutProfile(ctx, p, 0), authn.ErrConflict, "a second first write")
		got, err := s.Profile(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(1), got.Version)
		assert.Equal(t, "Zoë", got.DisplayName)
		assert.Equal(t, "Europe/Zurich", got.TimeZone)
		assert.Equal(t, "de-CH", got.Locale)
		assert.True(t, got.UpdatedAt.Equal(t0))
		// JSON numbers come back as float64; authn turns them back into
		// the declared type.
		assert.Equal(t, map[string]any{"tier": "gold", "points": float64(42), "ratio": 0.5, "newsletter": true}, got.Attributes)

		p.DisplayName, p.Attributes, p.UpdatedAt = "", map[string]any{}, t0.Add(time.Minute)
		assert.ErrorIs(t, s.PutProfile(ctx, p, 2), authn.ErrConflict, "a version from the future")
		require.NoError(t, s.PutProfile(ctx, p, 1))
		assert.ErrorIs(t, s.PutProfile(ctx, p, 1), authn.ErrConflict, "a stale version")
		got, err = s.Profile(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
		assert.Empty(t, got.DisplayName)
		assert.Empty(t, got.Attributes)
		assert.True(t, got.UpdatedAt.Equal(t0.Add(time.Minute)))
	})
	t.Run("one writer per version", func(t *testing.T) {
		u := mkUser(t, s, "race-profile@example.com")
		p := authn.Profile{UserID: u.ID, UpdatedAt: t0}
		require.NoError(t, s.PutProfile(ctx, p, 0))
		wins := race(t, concurrency, authn.ErrConflict, func(i int) error {
			q := p
			q.DisplayName = "writer"
			return s.PutProfile(ctx, q, 1)
		})
		assert.Equal(t, 1, wins)
	})
	t.Run("unknown user", func(t *testing.T) {
		assert.ErrorIs(t, s.PutProfile(ctx, authn.Profile{UserID: newID(t), UpdatedAt: t0}, 0), authn.ErrNotFound)
	})
}
