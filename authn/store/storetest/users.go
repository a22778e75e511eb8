package storetest

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testUsers(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	alice := mkUser(t, s, "alice@example.com")

	t.Run("by id and email", func(t *testing.T) {
		got, err := s.UserByID(ctx, alice.ID)
		require.NoError(t, err)
		assert.Equal(t, alice, got)
		for _, email := range []string{"alice@example.com", "ALICE@Example.COM"} {
			got, err = s.UserByEmail(ctx, email)
			require.NoError(t, err, email)
			assert.Equal(t, alice.ID, got.ID)
		}
	})
	t.Run("not found", func(t *testing.T) {
		_, err := s.UserByID(ctx, newID(t))
		assert.ErrorIs(t, err, authn.ErrNotFound)
		_, err = s.UserByEmail(ctx, "nobody@example.com")
		assert.ErrorIs(t, err, authn.ErrNotFound)
		for name, err := range map[string]error{
			"set password": s.SetPassword(ctx, "missing", "x", t0),
			"verify email": s.MarkEmailVerified(ctx, "missing", t0),
			"disable":      s.SetDisabled(ctx, "missing", true, t0),
		} {
			assert.ErrorIs(t, err, authn.ErrNotFound, name)
		}
	})
	t.Run("duplicates", func(t *testing.T) {
		tests := []struct {
			name string
			user authn.User
			want error
		}{
			{"same email", authn.User{ID: newID(t), Email: "alice@example.com"}, authn.ErrEmailTaken},
			{"email differing in case", authn.User{ID: newID(t), Email: "Alice@EXAMPLE.com"}, authn.ErrEmailTaken},
			{"same id", authn.User{ID: alice.ID, Email: "other@example.com"}, authn.ErrConflict},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assert.ErrorIs(t, s.CreateUser(ctx, tt.user), tt.want)
			})
		}
	})
	t.Run("concurrent registrations of one email", func(t *testing.T) {
		wins := race(t, 16, authn.ErrEmailTaken, func(int) error {
			return s.CreateUser(ctx, authn.User{ID: uuid.NewString(), Email: "race@example.com", CreatedAt: t0, UpdatedAt: t0})
		})
		assert.Equal(t, 1, wins)
	})
	t.Run("updates", func(t *testing.T) {
		u := mkUser(t, s, "bob@example.com")
		t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
		require.NoError(t, s.SetPassword(ctx, u.ID, "$argon2id$new", t1))
		require.NoError(t, s.MarkEmailVerified(ctx, u.ID, t1))
		require.NoError(t, s.MarkEmailVerified(ctx, u.ID, t2)) // keeps the first proof
		require.NoError(t, s.SetDisabled(ctx, u.ID, true, t2))
		got, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, "$argon2id$new", got.PasswordHash)
		assert.Equal(t, t1, got.PasswordChangedAt)
		assert.Equal(t, t1, got.EmailVerifiedAt)
		assert.Equal(t, t2, got.UpdatedAt)
		assert.True(t, got.Disabled)
		// An upgrade of the hash is a compare-and-set against the old one.
		t3 := t2.Add(time.Hour)
		require.ErrorIs(t, s.ReplacePasswordHash(ctx, u.ID, "$argon2id$stale", "$argon2id$upgraded", t3), authn.ErrConflict)
		require.ErrorIs(t, s.ReplacePasswordHash(ctx, "missing", "$argon2id$new", "$argon2id$upgraded", t3), authn.ErrNotFound)
		require.NoError(t, s.ReplacePasswordHash(ctx, u.ID, "$argon2id$new", "$argon2id$upgraded", t3))
		got, err = s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, "$argon2id$upgraded", got.PasswordHash)
		assert.Equal(t, t1, got.PasswordChangedAt, "an upgrade is not a password change")
		assert.Equal(t, t3, got.UpdatedAt)
		require.NoError(t, s.SetPassword(ctx, u.ID, "", t2)) // passwordless-only
		got, err = s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Empty(t, got.PasswordHash)
	})
}
