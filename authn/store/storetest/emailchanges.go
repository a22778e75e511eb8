package storetest

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testEmailChanges: a change round-trips; each proof is recorded once
// (of concurrent markers one wins); applying moves the account to the new
// address, verified, once, and not when another account took the address
// or the account's address changed meanwhile; undoing moves it back only
// within the window and once.
func testEmailChanges(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	mk := func(u authn.User, to string) authn.EmailChange {
		c := authn.EmailChange{ID: newID(t), UserID: u.ID, OldEmail: u.Email, NewEmail: to, ConfirmRequired: true,
			CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), EvaluationID: "ev-1"}
		require.NoError(t, s.CreateEmailChange(ctx, c))
		return c
	}
	t.Run("round trip and proofs", func(t *testing.T) {
		u := mkUser(t, s, "change-me@example.com")
		c := mk(u, "changed@example.com")
		got, err := s.EmailChangeByID(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, c, got)
		_, err = s.EmailChangeByID(ctx, newID(t))
		assert.ErrorIs(t, err, authn.ErrNotFound)
		assert.ErrorIs(t, s.CreateEmailChange(ctx, authn.EmailChange{ID: newID(t), UserID: newID(t), CreatedAt: t0, ExpiresAt: t0}),
			authn.ErrNotFound)

		wins := race(t, concurrency, authn.ErrConflict, func(int) error {
			_, err := s.MarkEmailChange(ctx, c.ID, authn.EmailChangeVerified, t0.Add(time.Minute))
			return err
		})
		assert.Equal(t, 1, wins)
		got, err = s.MarkEmailChange(ctx, c.ID, authn.EmailChangeConfirmed, t0.Add(2*time.Minute))
		require.NoError(t, err)
		assert.True(t, got.VerifiedAt.Equal(t0.Add(time.Minute)))
		assert.True(t, got.ConfirmedAt.Equal(t0.Add(2*time.Minute)))
		_, err = s.MarkEmailChange(ctx, newID(t), authn.EmailChangeVerified, t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
	t.Run("apply and undo", func(t *testing.T) {
		u := mkUser(t, s, "mover@example.com")
		c := mk(u, "Moved@Example.com")
		at := t0.Add(time.Hour)
		wins := race(t, concurrency, authn.ErrConflict, func(int) error { return s.ApplyEmailChange(ctx, c.ID, at, at.Add(72*time.Hour)) })
		assert.Equal(t, 1, wins)
		moved, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, "Moved@Example.com", moved.Email)
		assert.True(t, moved.EmailVerifiedAt.Equal(at))
		got, err := s.EmailChangeByID(ctx, c.ID)
		require.NoError(t, err)
		assert.True(t, got.UndoUntil.Equal(at.Add(72*time.Hour)))

		assert.ErrorIs(t, s.UndoEmailChange(ctx, c.ID, at.Add(73*time.Hour)), authn.ErrConflict, "past the window")
		wins = race(t, concurrency, authn.ErrConflict, func(int) error { return s.UndoEmailChange(ctx, c.ID, at.Add(time.Hour)) })
		assert.Equal(t, 1, wins)
		back, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, "mover@example.com", back.Email)
		assert.ErrorIs(t, s.ApplyEmailChange(ctx, c.ID, at, at), authn.ErrConflict, "an undone change stays undone")
	})
	t.Run("taken or moved meanwhile", func(t *testing.T) {
		u := mkUser(t, s, "wants@example.com")
		mkUser(t, s, "taken@example.com")
		c := mk(u, "TAKEN@example.com")
		assert.ErrorIs(t, s.ApplyEmailChange(ctx, c.ID, t0, t0.Add(time.Hour)), authn.ErrEmailTaken)
		still, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, "wants@example.com", still.Email, "nothing moved")

		a := mk(u, "first@example.com")
		b := mk(u, "second@example.com")
		require.NoError(t, s.ApplyEmailChange(ctx, a.ID, t0, t0.Add(time.Hour)))
		assert.ErrorIs(t, s.ApplyEmailChange(ctx, b.ID, t0, t0.Add(time.Hour)), authn.ErrConflict, "the old address is gone")
		got, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, "first@example.com", got.Email)
	})
}
