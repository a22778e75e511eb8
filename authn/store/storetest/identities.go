package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

// testIdentities covers linked upstream identities (one account per
// issuer and subject, listed per account, unlinked by their owner only,
// gone with the account) and pending links (single use under
// concurrency, expired ones neither taken nor kept).
func testIdentities(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ids, ok := s.(authn.IdentityBackend)
	require.True(t, ok, "the store keeps linked identities")
	ctx := t.Context()
	u := mkUser(t, s, "linked@example.com")
	other := mkUser(t, s, "linked-other@example.com")

	t.Run("links", func(t *testing.T) {
		_, err := ids.IdentityBySubject(ctx, "https://idp.example", "sub-1")
		require.ErrorIs(t, err, authn.ErrNotFound)
		li := authn.LinkedIdentity{ID: newID(t), UserID: u.ID, Provider: "idp", Issuer: "https://idp.example", Subject: "sub-1",
			Email: "linked@example.com", LinkedAt: t0, LastUsedAt: t0}
		require.NoError(t, ids.LinkIdentity(ctx, li))
		got, err := ids.IdentityBySubject(ctx, li.Issuer, li.Subject)
		require.NoError(t, err)
		assert.Equal(t, li, got)

		dup := li
		dup.ID, dup.UserID = newID(t), other.ID
		require.ErrorIs(t, ids.LinkIdentity(ctx, dup), authn.ErrConflict, "one upstream account, one riskauth account")
		gone := li
		gone.ID, gone.UserID, gone.Subject = newID(t), "no-such-user", "sub-9"
		require.ErrorIs(t, ids.LinkIdentity(ctx, gone), authn.ErrNotFound)

		second := authn.LinkedIdentity{ID: newID(t), UserID: u.ID, Provider: "gl", Issuer: "https://gl.example", Subject: "sub-1",
			Email: "x@example.com", LinkedAt: t0.Add(time.Minute), LastUsedAt: t0.Add(time.Minute)}
		require.NoError(t, ids.LinkIdentity(ctx, second), "the same subject at another issuer is another account")
		list, err := ids.Identities(ctx, u.ID)
		require.NoError(t, err)
		require.Len(t, list, 2)
		assert.Equal(t, []string{li.ID, second.ID}, []string{list[0].ID, list[1].ID}, "oldest first")

		require.NoError(t, ids.TouchIdentity(ctx, li.ID, t0.Add(time.Hour)))
		got, err = ids.IdentityBySubject(ctx, li.Issuer, li.Subject)
		require.NoError(t, err)
		assert.Equal(t, t0.Add(time.Hour), got.LastUsedAt)

		require.ErrorIs(t, ids.UnlinkIdentity(ctx, other.ID, li.ID), authn.ErrNotFound, "only the owner's links")
		require.NoError(t, ids.UnlinkIdentity(ctx, u.ID, li.ID))
		require.ErrorIs(t, ids.UnlinkIdentity(ctx, u.ID, li.ID), authn.ErrNotFound)
		list, err = ids.Identities(ctx, u.ID)
		require.NoError(t, err)
		assert.Len(t, list, 1)

		require.NoError(t, s.DeleteUser(ctx, u.ID))
		_, err = ids.IdentityBySubject(ctx, second.Issuer, second.Subject)
		require.ErrorIs(t, err, authn.ErrNotFound, "a deleted account takes its links with it")
	})

	t.Run("pending links", func(t *testing.T) {
		pl := authn.PendingLink{FlowID: "flow-1", UserID: other.ID, Provider: "idp", Issuer: "https://idp.example", Subject: "sub-2",
			Email: "linked-other@example.com", ExpiresAt: t0.Add(10 * time.Minute)}
		require.NoError(t, ids.SavePendingLink(ctx, pl, t0))
		_, err := ids.TakePendingLink(ctx, "flow-1", t0.Add(10*time.Minute))
		require.ErrorIs(t, err, authn.ErrNotFound, "expired")
		require.NoError(t, ids.SavePendingLink(ctx, pl, t0))

		var taken atomic.Int32
		var wg sync.WaitGroup
		for range concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := ids.TakePendingLink(ctx, "flow-1", t0.Add(time.Minute))
				if err == nil {
					taken.Add(1)
					assert.Equal(t, pl, got)
					return
				}
				assert.ErrorIs(t, err, authn.ErrNotFound)
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), taken.Load(), "a pending link is taken once")

		old := pl
		old.FlowID, old.ExpiresAt = "flow-old", t0.Add(time.Minute)
		require.NoError(t, ids.SavePendingLink(ctx, old, t0))
		require.NoError(t, ids.SavePendingLink(ctx, pl, t0.Add(2*time.Minute)), "purges flow-old")
		_, err = ids.TakePendingLink(ctx, "flow-old", t0)
		require.ErrorIs(t, err, authn.ErrNotFound, "purged when expired")
	})
}
