package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
)

// testOIDCConsents covers consents: one per user and client, replaced
// by a new grant, listed by client, and deleted together with the
// client's tokens of that user (and only those).
func testOIDCConsents(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "consent@example.com")
	other := mkUser(t, s, "consent-other@example.com")

	_, err := s.Consent(ctx, u.ID, "shop")
	require.ErrorIs(t, err, authn.ErrNotFound)
	none, err := s.Consents(ctx, u.ID)
	require.NoError(t, err)
	assert.Empty(t, none)

	c := oidc.ConsentRecord{UserID: u.ID, ClientID: "shop", Scopes: []string{"openid", "email"}, GrantedAt: t0}
	require.NoError(t, s.SaveConsent(ctx, c))
	got, err := s.Consent(ctx, u.ID, "shop")
	require.NoError(t, err)
	assert.Equal(t, c, got)

	c.Scopes, c.GrantedAt = []string{"openid", "email", "offline_access"}, t0.Add(time.Hour)
	require.NoError(t, s.SaveConsent(ctx, c), "a new grant replaces the old one")
	require.NoError(t, s.SaveConsent(ctx, oidc.ConsentRecord{UserID: u.ID, ClientID: "blog", Scopes: []string{"openid"}, GrantedAt: t0}))
	require.NoError(t, s.SaveConsent(ctx, oidc.ConsentRecord{UserID: other.ID, ClientID: "shop", Scopes: []string{"openid"}, GrantedAt: t0}))
	assert.Error(t, s.SaveConsent(ctx, oidc.ConsentRecord{UserID: "no-such-user", ClientID: "shop", Scopes: []string{"openid"}, GrantedAt: t0}),
		"consents belong to an account")
	all, err := s.Consents(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, "blog", all[0].ClientID)
	assert.Equal(t, c, all[1])

	tok := func(id, user, client string) oidc.TokenRecord {
		return oidc.TokenRecord{ID: id, Kind: oidc.TokenAccess, Family: "fam-" + id, ClientID: client, UserID: user,
			Data: []byte(`{}`), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	}
	for _, r := range []oidc.TokenRecord{tok("c-1", u.ID, "shop"), tok("c-2", u.ID, "blog"), tok("c-3", other.ID, "shop")} {
		require.NoError(t, s.InsertToken(ctx, r))
	}
	at := t0.Add(2 * time.Hour)
	require.NoError(t, s.DeleteConsent(ctx, u.ID, "shop", at))
	assert.ErrorIs(t, s.DeleteConsent(ctx, u.ID, "shop", at), authn.ErrNotFound, "deleted already")
	_, err = s.Consent(ctx, u.ID, "shop")
	assert.ErrorIs(t, err, authn.ErrNotFound)
	for id, revoked := range map[string]bool{"c-1": true, "c-2": false, "c-3": false} {
		r, err := s.Token(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, revoked, !r.RevokedAt.IsZero(), "token %s", id)
	}
	_, err = s.Consent(ctx, other.ID, "shop")
	assert.NoError(t, err, "another user's consent stays")
}
