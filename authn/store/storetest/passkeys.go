package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// PasskeyStore is what the passkey conformance tests need; a store under
// test that keeps passkeys implements it (both of riskauth's do).
type PasskeyStore interface {
	Store
	authn.PasskeyBackend
}

func testPasskeys(t *testing.T, newDB NewDatabase) {
	st := open(t, newDB)
	s, ok := st.(PasskeyStore)
	if !ok {
		t.Skip("the store keeps no passkeys")
	}
	ctx := t.Context()

	t.Run("add, list, use, rename, delete", func(t *testing.T) {
		u := mkUser(t, s, "passkey@example.com")
		other := mkUser(t, s, "passkey-other@example.com")
		p1 := authn.Passkey{ID: randBytes(t), UserID: u.ID, Name: "Laptop", PublicKey: []byte("pk-1"), AAGUID: make([]byte, 16),
			SignCount: 5, Transports: []string{"internal", "hybrid"}, AttestationFormat: "none", CreatedAt: t0}
		p2 := authn.Passkey{ID: randBytes(t), UserID: u.ID, Name: "Phone", PublicKey: []byte("pk-2"),
			BackupEligible: true, BackupState: true, CreatedAt: t0.Add(time.Minute)}
		require.NoError(t, s.AddPasskey(ctx, p2))
		require.NoError(t, s.AddPasskey(ctx, p1))
		dup := p1
		dup.UserID = other.ID
		assert.ErrorIs(t, s.AddPasskey(ctx, dup), authn.ErrConflict, "a credential id belongs to one account")
		assert.ErrorIs(t, s.AddPasskey(ctx, authn.Passkey{ID: randBytes(t), UserID: "no-such-user", Name: "x", PublicKey: []byte("k"), CreatedAt: t0}),
			authn.ErrNotFound, "unknown account")

		list, err := s.Passkeys(ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, p1, list[0], "oldest first, every field kept")
		assert.Equal(t, p2, list[1])
		none, err := s.Passkeys(ctx, other.ID)
		require.NoError(t, err)
		assert.Empty(t, none)

		got, err := s.PasskeyByID(ctx, p2.ID)
		require.NoError(t, err)
		assert.Equal(t, p2, got)
		_, err = s.PasskeyByID(ctx, []byte("nope"))
		assert.ErrorIs(t, err, authn.ErrNotFound)

		// The counter only goes up; a regression counts a clone warning.
		require.NoError(t, s.UsePasskey(ctx, p1.ID, authn.PasskeyUse{SignCount: 9, At: t0.Add(time.Hour)}))
		require.NoError(t, s.UsePasskey(ctx, p1.ID, authn.PasskeyUse{SignCount: 3, Regressed: true, BackupState: true, At: t0.Add(2 * time.Hour)}))
		got, err = s.PasskeyByID(ctx, p1.ID)
		require.NoError(t, err)
		assert.Equal(t, uint32(9), got.SignCount)
		assert.Equal(t, 1, got.CloneWarnings)
		assert.True(t, got.BackupState)
		assert.Equal(t, t0.Add(2*time.Hour), got.LastUsedAt)
		assert.ErrorIs(t, s.UsePasskey(ctx, []byte("nope"), authn.PasskeyUse{At: t0}), authn.ErrNotFound)

		assert.ErrorIs(t, s.RenamePasskey(ctx, other.ID, p1.ID, "Mine now"), authn.ErrNotFound, "another account's passkey")
		require.NoError(t, s.RenamePasskey(ctx, u.ID, p1.ID, "Work laptop"))
		got, err = s.PasskeyByID(ctx, p1.ID)
		require.NoError(t, err)
		assert.Equal(t, "Work laptop", got.Name)

		assert.ErrorIs(t, s.DeletePasskey(ctx, other.ID, p1.ID), authn.ErrNotFound, "another account's passkey")
		require.NoError(t, s.DeletePasskey(ctx, u.ID, p1.ID))
		assert.ErrorIs(t, s.DeletePasskey(ctx, u.ID, p1.ID), authn.ErrNotFound)
		list, err = s.Passkeys(ctx, u.ID)
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})

	t.Run("concurrent uses keep the highest counter", func(t *testing.T) {
		u := mkUser(t, s, "passkey-race@example.com")
		p := authn.Passkey{ID: randBytes(t), UserID: u.ID, Name: "Key", PublicKey: []byte("pk"), CreatedAt: t0}
		require.NoError(t, s.AddPasskey(ctx, p))
		var wg sync.WaitGroup
		for i := range concurrency {
			wg.Go(func() {
				assert.NoError(t, s.UsePasskey(ctx, p.ID, authn.PasskeyUse{SignCount: uint32(i + 1), At: t0}))
			})
		}
		wg.Wait()
		got, err := s.PasskeyByID(ctx, p.ID)
		require.NoError(t, err)
		assert.Equal(t, uint32(concurrency), got.SignCount)
	})

	t.Run("offer once", func(t *testing.T) {
		u := mkUser(t, s, "passkey-offer@example.com")
		offered, err := s.PasskeyOffered(ctx, u.ID)
		require.NoError(t, err)
		assert.False(t, offered)
		require.NoError(t, s.SetPasskeyOffered(ctx, u.ID, t0))
		require.NoError(t, s.SetPasskeyOffered(ctx, u.ID, t0.Add(time.Hour)), "idempotent")
		offered, err = s.PasskeyOffered(ctx, u.ID)
		require.NoError(t, err)
		assert.True(t, offered)
	})

	t.Run("challenges are single use and expire", func(t *testing.T) {
		c := authn.PasskeyChallenge{ID: newID(t), Kind: authn.PasskeyStepUp, UserID: "u-1", FlowID: "f-1", Data: []byte(`{"challenge":"x"}`),
			ExpiresAt: t0.Add(5 * time.Minute)}
		require.NoError(t, s.SaveChallenge(ctx, c))
		assert.ErrorIs(t, s.SaveChallenge(ctx, c), authn.ErrConflict)
		var (
			wins atomic.Int32
			wg   sync.WaitGroup
		)
		for range concurrency {
			wg.Go(func() {
				got, err := s.TakeChallenge(ctx, c.ID, t0)
				if err == nil {
					wins.Add(1)
					assert.Equal(t, c, got)
					return
				}
				assert.ErrorIs(t, err, authn.ErrNotFound)
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load(), "exactly one taker")

		late := authn.PasskeyChallenge{ID: newID(t), Kind: authn.PasskeySignIn, Data: []byte("{}"), ExpiresAt: t0.Add(time.Minute)}
		require.NoError(t, s.SaveChallenge(ctx, late))
		_, err := s.TakeChallenge(ctx, late.ID, t0.Add(time.Minute))
		assert.ErrorIs(t, err, authn.ErrNotFound, "expired")
		_, err = s.TakeChallenge(ctx, late.ID, t0)
		assert.ErrorIs(t, err, authn.ErrNotFound, "an expired take still spends it")

		swept := authn.PasskeyChallenge{ID: newID(t), Kind: authn.PasskeySignIn, Data: []byte("{}"), ExpiresAt: t0.Add(time.Minute)}
		live := authn.PasskeyChallenge{ID: newID(t), Kind: authn.PasskeySignIn, Data: []byte("{}"), ExpiresAt: t0.Add(time.Hour)}
		require.NoError(t, s.SaveChallenge(ctx, swept))
		require.NoError(t, s.SaveChallenge(ctx, live))
		_, err = s.DeleteExpired(ctx, t0.Add(2*time.Minute), time.Hour)
		require.NoError(t, err)
		_, err = s.TakeChallenge(ctx, swept.ID, t0)
		assert.ErrorIs(t, err, authn.ErrNotFound, "swept")
		_, err = s.TakeChallenge(ctx, live.ID, t0)
		assert.NoError(t, err)
	})

	t.Run("deleting the account deletes its passkeys", func(t *testing.T) {
		u := mkUser(t, s, "passkey-gone@example.com")
		p := authn.Passkey{ID: randBytes(t), UserID: u.ID, Name: "Key", PublicKey: []byte("pk"), CreatedAt: t0}
		require.NoError(t, s.AddPasskey(ctx, p))
		require.NoError(t, s.SetPasskeyOffered(ctx, u.ID, t0))
		require.NoError(t, s.DeleteUser(ctx, u.ID))
		_, err := s.PasskeyByID(ctx, p.ID)
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
}
