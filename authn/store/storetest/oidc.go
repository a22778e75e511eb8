package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
)

// testOIDC covers the OpenID Connect provider's state: authorization
// requests, one code each used once, tokens, rotation that only one of
// many concurrent refreshes wins, and revocation by family.
func testOIDC(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	exp := t0.Add(15 * time.Minute)

	t.Run("requests", func(t *testing.T) {
		r := oidc.RequestRecord{ID: "req-1", ClientID: "app", Data: []byte(`{"a":1}`), ExpiresAt: exp}
		require.NoError(t, s.CreateAuthRequest(ctx, r))
		assert.ErrorIs(t, s.CreateAuthRequest(ctx, r), authn.ErrConflict, "ids are unique")
		got, err := s.AuthRequest(ctx, "req-1", t0)
		require.NoError(t, err)
		assert.Equal(t, r, got)
		_, err = s.AuthRequest(ctx, "req-1", exp)
		assert.ErrorIs(t, err, authn.ErrNotFound, "expired")
		_, err = s.AuthRequest(ctx, "req-x", t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)

		require.NoError(t, s.UpdateAuthRequest(ctx, "req-1", []byte(`{"a":2}`), t0))
		assert.ErrorIs(t, s.UpdateAuthRequest(ctx, "req-1", []byte(`{}`), exp), authn.ErrNotFound, "expired")
		got, err = s.AuthRequest(ctx, "req-1", t0)
		require.NoError(t, err)
		assert.JSONEq(t, `{"a":2}`, string(got.Data))

		require.NoError(t, s.DeleteAuthRequest(ctx, "req-1"))
		_, err = s.AuthRequest(ctx, "req-1", t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})

	t.Run("codes", func(t *testing.T) {
		require.NoError(t, s.CreateAuthRequest(ctx, oidc.RequestRecord{ID: "req-2", ClientID: "app", Data: []byte(`{}`), ExpiresAt: exp}))
		_, err := s.AuthRequestByCode(ctx, hash("code-2"), t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)
		assert.ErrorIs(t, s.UseAuthCode(ctx, "req-2", t0), authn.ErrNotFound, "no code yet")

		codeExp := t0.Add(time.Minute)
		require.NoError(t, s.SaveAuthCode(ctx, "req-2", hash("code-2"), codeExp, t0))
		assert.ErrorIs(t, s.SaveAuthCode(ctx, "req-2", hash("code-3"), codeExp, t0), authn.ErrNotFound, "one code per request")
		assert.ErrorIs(t, s.UpdateAuthRequest(ctx, "req-2", []byte(`{}`), t0), authn.ErrNotFound, "no change once a code exists")

		got, err := s.AuthRequestByCode(ctx, hash("code-2"), t0.Add(time.Second))
		require.NoError(t, err)
		assert.Equal(t, "req-2", got.ID)
		assert.Equal(t, codeExp, got.CodeExpiresAt)
		assert.True(t, got.CodeUsedAt.IsZero())
		_, err = s.AuthRequestByCode(ctx, hash("code-2"), codeExp)
		assert.ErrorIs(t, err, authn.ErrNotFound, "expired code")
		assert.ErrorIs(t, s.UseAuthCode(ctx, "req-2", codeExp), authn.ErrNotFound, "expired code")

		used := t0.Add(2 * time.Second)
		wins := race(t, concurrency, authn.ErrNotFound, func(int) error { return s.UseAuthCode(ctx, "req-2", used) })
		assert.Equal(t, 1, wins, "a code is used once")
		got, err = s.AuthRequestByCode(ctx, hash("code-2"), used)
		require.NoError(t, err, "a used code is still found, for replay detection")
		assert.Equal(t, used, got.CodeUsedAt)
	})

	t.Run("tokens", func(t *testing.T) {
		u := mkUser(t, s, "oidc@example.com")
		tok := func(id string, kind oidc.TokenKind, family string) oidc.TokenRecord {
			r := oidc.TokenRecord{ID: id, Kind: kind, Family: family, ClientID: "app", UserID: u.ID, Data: []byte(`{"scopes":["openid"]}`),
				CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if kind == oidc.TokenRefresh {
				r.Hash = hash(id)
			}
			return r
		}
		access, refresh := tok("at-1", oidc.TokenAccess, "fam-1"), tok("rt-1", oidc.TokenRefresh, "fam-1")
		require.NoError(t, s.InsertToken(ctx, access))
		require.NoError(t, s.InsertToken(ctx, refresh))
		require.NoError(t, s.InsertToken(ctx, tok("at-other", oidc.TokenAccess, "fam-2")))
		assert.ErrorIs(t, s.InsertToken(ctx, tok("at-x", oidc.TokenAccess, "fam-x")), nil)
		orphan := tok("at-orphan", oidc.TokenAccess, "fam-3")
		orphan.UserID = "no-such-user"
		assert.ErrorIs(t, s.InsertToken(ctx, orphan), authn.ErrNotFound, "tokens belong to an account")

		got, err := s.Token(ctx, "at-1")
		require.NoError(t, err)
		assert.Equal(t, access, got)
		got, err = s.RefreshTokenByHash(ctx, hash("rt-1"))
		require.NoError(t, err)
		assert.Equal(t, refresh, got)
		_, err = s.RefreshTokenByHash(ctx, hash("at-1"))
		assert.ErrorIs(t, err, authn.ErrNotFound)

		// Many concurrent rotations of one refresh token: one wins, and
		// only its successor exists.
		at := t0.Add(time.Minute)
		wins := race(t, concurrency, authn.ErrNotFound, func(i int) error {
			next := tok(fmt.Sprintf("rt-2-%d", i), oidc.TokenRefresh, "fam-1")
			next.CreatedAt = at
			return s.RotateRefreshToken(ctx, "rt-1", next, at)
		})
		require.Equal(t, 1, wins)
		got, err = s.Token(ctx, "rt-1")
		require.NoError(t, err)
		assert.Equal(t, at, got.UsedAt, "the rotated token is marked used, not deleted")
		var succ int
		for i := range concurrency {
			if _, err := s.Token(ctx, fmt.Sprintf("rt-2-%d", i)); err == nil {
				succ++
			}
		}
		assert.Equal(t, 1, succ, "only the winner's successor was inserted")
		assert.ErrorIs(t, s.RotateRefreshToken(ctx, "at-1", tok("rt-3", oidc.TokenRefresh, "fam-1"), at), authn.ErrNotFound,
			"an access token does not rotate")

		n, err := s.RevokeTokens(ctx, "at-other", "", at)
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
		n, err = s.RevokeTokens(ctx, "", "fam-1", at)
		require.NoError(t, err)
		assert.Equal(t, int64(3), n, "the access token, the used and the current refresh token")
		got, err = s.Token(ctx, "at-1")
		require.NoError(t, err)
		assert.Equal(t, at, got.RevokedAt)
		n, err = s.RevokeTokens(ctx, "", "fam-1", at.Add(time.Second))
		require.NoError(t, err)
		assert.Zero(t, n, "revoking twice changes nothing")

		// The sweep removes what expired.
		_, err = s.DeleteExpired(ctx, t0.Add(2*time.Hour), 0)
		require.NoError(t, err)
		_, err = s.Token(ctx, "at-1")
		assert.ErrorIs(t, err, authn.ErrNotFound)
		_, err = s.AuthRequestByCode(ctx, hash("code-2"), t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
}
