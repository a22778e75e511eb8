package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testTOTP(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	const step = 59_000_000

	t.Run("enrol, confirm, use, replace, delete", func(t *testing.T) {
		u := mkUser(t, s, "totp@example.com")
		_, err := s.ActiveTOTP(ctx, u.ID)
		require.ErrorIs(t, err, authn.ErrNotFound)

		first := authn.TOTPFactor{ID: newID(t), UserID: u.ID, SealedSecret: []byte("sealed-1"), CreatedAt: t0}
		require.NoError(t, s.BeginTOTP(ctx, first))
		second := authn.TOTPFactor{ID: newID(t), UserID: u.ID, SealedSecret: []byte("sealed-2"), CreatedAt: t0.Add(time.Minute)}
		require.NoError(t, s.BeginTOTP(ctx, second)) // replaces the abandoned first
		p, err := s.PendingTOTP(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, second, p)
		assert.ErrorIs(t, s.ConfirmTOTP(ctx, u.ID, first.ID, step, t0), authn.ErrNotFound, "replaced enrolment")
		assert.ErrorIs(t, s.UseTOTPStep(ctx, second.ID, step), authn.ErrNotFound, "pending factor")

		require.NoError(t, s.ConfirmTOTP(ctx, u.ID, second.ID, step, t0.Add(2*time.Minute)))
		_, err = s.PendingTOTP(ctx, u.ID)
		assert.ErrorIs(t, err, authn.ErrNotFound)
		active, err := s.ActiveTOTP(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, t0.Add(2*time.Minute), active.ConfirmedAt)
		assert.Equal(t, int64(step), active.LastUsedStep)
		assert.Equal(t, []byte("sealed-2"), active.SealedSecret)

		for _, tt := range []struct {
			name string
			step int64
			want error
		}{
			{"code used to confirm", step, authn.ErrReplay},
			{"older step", step - 1, authn.ErrReplay},
			{"next step", step + 1, nil},
			{"same step again", step + 1, authn.ErrReplay},
			{"skipping ahead", step + 3, nil},
			{"back within window", step + 2, authn.ErrReplay},
		} {
			err := s.UseTOTPStep(ctx, active.ID, tt.step)
			if tt.want == nil {
				assert.NoError(t, err, tt.name)
			} else {
				assert.ErrorIs(t, err, tt.want, tt.name)
			}
		}

		// Replacing: a new enrolment leaves the active factor working
		// until it is confirmed, then the old one is gone.
		repl := authn.TOTPFactor{ID: newID(t), UserID: u.ID, SealedSecret: []byte("sealed-3"), CreatedAt: t0}
		require.NoError(t, s.BeginTOTP(ctx, repl))
		require.NoError(t, s.UseTOTPStep(ctx, active.ID, step+4))
		require.NoError(t, s.ConfirmTOTP(ctx, u.ID, repl.ID, step+5, t0))
		assert.ErrorIs(t, s.UseTOTPStep(ctx, active.ID, step+6), authn.ErrNotFound)
		got, err := s.ActiveTOTP(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, repl.ID, got.ID)

		other := mkUser(t, s, "totp-other@example.com")
		assert.ErrorIs(t, s.DeleteTOTP(ctx, other.ID, repl.ID), authn.ErrNotFound, "someone else's factor")
		require.NoError(t, s.DeleteTOTP(ctx, u.ID, repl.ID))
		_, err = s.ActiveTOTP(ctx, u.ID)
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
	t.Run("unknown user", func(t *testing.T) {
		err := s.BeginTOTP(ctx, authn.TOTPFactor{ID: newID(t), UserID: "missing", SealedSecret: []byte("x"), CreatedAt: t0})
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
	t.Run("one step, concurrent uses, one winner", func(t *testing.T) {
		u := mkUser(t, s, "totp-race@example.com")
		f := authn.TOTPFactor{ID: newID(t), UserID: u.ID, SealedSecret: []byte("s"), CreatedAt: t0}
		require.NoError(t, s.BeginTOTP(ctx, f))
		require.NoError(t, s.ConfirmTOTP(ctx, u.ID, f.ID, step, t0))
		wins := race(t, concurrency, authn.ErrReplay, func(int) error { return s.UseTOTPStep(ctx, f.ID, step+1) })
		assert.Equal(t, 1, wins)
	})
}

func testRecoveryCodes(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "rc@example.com")
	other := mkUser(t, s, "rc-other@example.com")
	codes := func(prefix string) [][]byte {
		var hs [][]byte
		for i := range 10 {
			hs = append(hs, hash(fmt.Sprintf("%s-%d", prefix, i)))
		}
		return hs
	}

	require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, codes("a"), t0))
	n, err := s.CountRecoveryCodes(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 10, n)

	require.NoError(t, s.ConsumeRecoveryCode(ctx, u.ID, hash("a-3"), t0))
	assert.ErrorIs(t, s.ConsumeRecoveryCode(ctx, u.ID, hash("a-3"), t0), authn.ErrNotFound, "second use")
	assert.ErrorIs(t, s.ConsumeRecoveryCode(ctx, other.ID, hash("a-4"), t0), authn.ErrNotFound, "another user's code")
	assert.ErrorIs(t, s.ConsumeRecoveryCode(ctx, u.ID, hash("nope"), t0), authn.ErrNotFound, "unknown code")
	n, err = s.CountRecoveryCodes(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 9, n)

	require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, codes("b"), t0))
	assert.ErrorIs(t, s.ConsumeRecoveryCode(ctx, u.ID, hash("a-4"), t0), authn.ErrNotFound, "replaced set")
	n, err = s.CountRecoveryCodes(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 10, n)

	t.Run("concurrent consumers, one winner", func(t *testing.T) {
		wins := race(t, concurrency, authn.ErrNotFound, func(int) error {
			return s.ConsumeRecoveryCode(ctx, u.ID, hash("b-7"), t0)
		})
		assert.Equal(t, 1, wins)
	})
}
