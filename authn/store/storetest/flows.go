package storetest

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testFlows(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "flow@example.com")
	mkFlow := func(t *testing.T, userID string) authn.LoginFlow {
		f := authn.LoginFlow{ID: newID(t), UserID: userID, Identifier: "flow@example.com", EvaluationID: "ev-1",
			Decision: "step_up", Methods: []string{"password", "totp"}, State: "identified",
			CreatedAt: t0, UpdatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		require.NoError(t, s.CreateFlow(ctx, f))
		return f
	}

	t.Run("create and read", func(t *testing.T) {
		f := mkFlow(t, u.ID)
		got, err := s.FlowByID(ctx, f.ID, t0)
		require.NoError(t, err)
		assert.Equal(t, f, got)
		assert.ErrorIs(t, s.CreateFlow(ctx, f), authn.ErrConflict)
		_, err = s.FlowByID(ctx, f.ID, f.ExpiresAt)
		assert.ErrorIs(t, err, authn.ErrNotFound, "expired")
		_, err = s.FlowByID(ctx, "missing", t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
	t.Run("unknown identifier", func(t *testing.T) {
		f := mkFlow(t, "")
		f.Methods = nil
		f.ID = newID(t)
		require.NoError(t, s.CreateFlow(ctx, f))
		got, err := s.FlowByID(ctx, f.ID, t0)
		require.NoError(t, err)
		assert.Empty(t, got.UserID)
		assert.Empty(t, got.Methods)
	})
	t.Run("advance", func(t *testing.T) {
		f := mkFlow(t, u.ID)
		now := t0.Add(time.Minute)
		got, err := s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "identified", To: "second_factor", PasswordVerified: true}, now)
		require.NoError(t, err)
		assert.Equal(t, "second_factor", got.State)
		assert.True(t, got.PasswordVerified)
		assert.Equal(t, now, got.UpdatedAt)

		assert.Equal(t, "ev-1", got.EvaluationID, "empty keeps")
		assert.Equal(t, "step_up", got.Decision)
		assert.Equal(t, []string{"password", "totp"}, got.Methods, "nil keeps")

		_, err = s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "identified", To: "done"}, now)
		assert.ErrorIs(t, err, authn.ErrConflict, "state moved on")
		got, err = s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "second_factor", To: "second_factor",
			EvaluationID: "ev-2", Decision: "block", Methods: []string{"totp"}}, now)
		require.NoError(t, err)
		assert.Equal(t, "ev-2", got.EvaluationID)
		assert.Equal(t, "block", got.Decision)
		assert.Equal(t, []string{"totp"}, got.Methods)
		got, err = s.FlowByID(ctx, f.ID, now)
		require.NoError(t, err)
		assert.Equal(t, "ev-2", got.EvaluationID, "persisted")
		assert.Equal(t, []string{"totp"}, got.Methods)
		got, err = s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "second_factor", To: "done"}, now)
		require.NoError(t, err)
		assert.True(t, got.PasswordVerified, "never cleared")
		_, err = s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "done", To: "x"}, f.ExpiresAt)
		assert.ErrorIs(t, err, authn.ErrNotFound, "expired")
		_, err = s.AdvanceFlow(ctx, "missing", authn.FlowTransition{From: "done", To: "x"}, now)
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
	t.Run("concurrent advances, one winner", func(t *testing.T) {
		f := mkFlow(t, u.ID)
		wins := race(t, concurrency, authn.ErrConflict, func(int) error {
			_, err := s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "identified", To: "done"}, t0)
			return err
		})
		assert.Equal(t, 1, wins)
	})
}
