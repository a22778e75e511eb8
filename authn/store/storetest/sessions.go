package storetest

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mkSession creates a live session for u with the given deadlines.
func mkSession(tb testing.TB, s Store, u authn.User, idle, abs time.Time) (authn.Session, []byte) {
	tb.Helper()
	token := randBytes(tb)
	x := authn.Session{ID: newID(tb), TokenHash: hash(string(token)), UserID: u.ID, CreatedAt: t0, LastSeenAt: t0,
		IdleExpiresAt: idle, AbsoluteExpiresAt: abs, AAL: authn.AAL2, DeviceID: "dev-1", IP: "192.0.2.1", UserAgent: "test"}
	require.NoError(tb, s.CreateSession(tb.Context(), x))
	return x, x.TokenHash
}

func testSessions(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "sess@example.com")
	idle, abs := t0.Add(30*time.Minute), t0.Add(12*time.Hour)

	t.Run("lookup", func(t *testing.T) {
		x, h := mkSession(t, s, u, idle, abs)
		got, err := s.SessionByTokenHash(ctx, h, t0)
		require.NoError(t, err)
		assert.Equal(t, x, got)
		_, err = s.SessionByTokenHash(ctx, hash("other"), t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)
		dup := x
		dup.ID = newID(t)
		assert.ErrorIs(t, s.CreateSession(ctx, dup), authn.ErrConflict, "same token hash")
	})
	t.Run("idle expiry", func(t *testing.T) {
		_, h := mkSession(t, s, u, idle, abs)
		for _, tt := range []struct {
			at   time.Time
			live bool
		}{
			{idle.Add(-time.Millisecond), true},
			{idle, false},
			{idle.Add(time.Hour), false},
		} {
			_, err := s.SessionByTokenHash(ctx, h, tt.at)
			if tt.live {
				assert.NoError(t, err, tt.at)
			} else {
				assert.ErrorIs(t, err, authn.ErrNotFound, tt.at)
			}
		}
	})
	t.Run("touch slides idle, never past absolute", func(t *testing.T) {
		x, h := mkSession(t, s, u, idle, abs)
		now := t0.Add(20 * time.Minute)
		require.NoError(t, s.TouchSession(ctx, x.ID, now, now.Add(30*time.Minute)))
		got, err := s.SessionByTokenHash(ctx, h, idle.Add(time.Minute)) // past the original idle deadline
		require.NoError(t, err)
		assert.Equal(t, now, got.LastSeenAt)
		assert.Equal(t, now.Add(30*time.Minute), got.IdleExpiresAt)

		// An older touch arriving late does not shorten the session.
		require.NoError(t, s.TouchSession(ctx, x.ID, t0.Add(time.Minute), t0.Add(31*time.Minute)))
		got, err = s.SessionByTokenHash(ctx, h, now)
		require.NoError(t, err)
		assert.Equal(t, now.Add(30*time.Minute), got.IdleExpiresAt)

		// Keep it busy until the absolute deadline: it still ends there.
		late := abs.Add(-10 * time.Minute)
		require.NoError(t, s.TouchSession(ctx, x.ID, now, late)) // jump the idle deadline close to the end
		require.NoError(t, s.TouchSession(ctx, x.ID, late.Add(-time.Minute), late.Add(time.Hour)))
		got, err = s.SessionByTokenHash(ctx, h, abs.Add(-time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, abs, got.IdleExpiresAt, "idle deadline capped at absolute")
		_, err = s.SessionByTokenHash(ctx, h, abs)
		assert.ErrorIs(t, err, authn.ErrNotFound, "absolute expiry")
		assert.ErrorIs(t, s.TouchSession(ctx, x.ID, abs, abs.Add(time.Hour)), authn.ErrNotFound, "expired sessions are not revived")
	})
	t.Run("touch after idle expiry", func(t *testing.T) {
		x, h := mkSession(t, s, u, idle, abs)
		assert.ErrorIs(t, s.TouchSession(ctx, x.ID, idle, idle.Add(30*time.Minute)), authn.ErrNotFound)
		_, err := s.SessionByTokenHash(ctx, h, idle.Add(time.Minute))
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
	t.Run("revoke", func(t *testing.T) {
		x, h := mkSession(t, s, u, idle, abs)
		mallory := mkUser(t, s, "mallory@example.com")
		assert.ErrorIs(t, s.RevokeSession(ctx, mallory.ID, x.ID, t0), authn.ErrNotFound, "not the owner")
		_, err := s.SessionByTokenHash(ctx, h, t0)
		require.NoError(t, err)
		require.NoError(t, s.RevokeSession(ctx, u.ID, x.ID, t0))
		_, err = s.SessionByTokenHash(ctx, h, t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)
		assert.ErrorIs(t, s.RevokeSession(ctx, u.ID, x.ID, t0), authn.ErrNotFound, "twice")
		assert.ErrorIs(t, s.TouchSession(ctx, x.ID, t0, idle), authn.ErrNotFound, "revoked sessions are not revived")
	})
	t.Run("list and revoke others", func(t *testing.T) {
		v := mkUser(t, s, "devices@example.com")
		var keep authn.Session
		for i := range 4 {
			x, _ := mkSession(t, s, v, idle, abs)
			require.NoError(t, s.TouchSession(ctx, x.ID, t0.Add(time.Duration(i)*time.Minute), idle))
			if i == 1 {
				keep = x
			}
		}
		mkSession(t, s, v, t0.Add(time.Minute), abs) // idles out before we look
		list, err := s.ListSessions(ctx, v.ID, t0.Add(5*time.Minute))
		require.NoError(t, err)
		require.Len(t, list, 4)
		for i := 1; i < len(list); i++ {
			assert.False(t, list[i].LastSeenAt.After(list[i-1].LastSeenAt), "most recent first")
		}
		n, err := s.RevokeOtherSessions(ctx, v.ID, keep.ID, t0.Add(5*time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		list, err = s.ListSessions(ctx, v.ID, t0.Add(5*time.Minute))
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, keep.ID, list[0].ID)
		n, err = s.RevokeOtherSessions(ctx, v.ID, "", t0.Add(6*time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 1, n, "empty except revokes all")
	})
}
