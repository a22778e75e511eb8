package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
)

// testOIDCClients covers the client registry: create (an id once), read,
// list by id, compare-and-set updates (a stale version is ErrConflict, a
// missing client ErrNotFound, also under concurrent writers), and delete,
// which revokes the client's tokens and removes its consents and
// relying-party sessions, and only its own.
func testOIDCClients(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	_, err := s.Client(ctx, "shop")
	require.ErrorIs(t, err, authn.ErrNotFound)
	none, err := s.Clients(ctx)
	require.NoError(t, err)
	assert.Empty(t, none)

	shop := oidc.ClientRecord{ID: "shop", Data: []byte(`{"id":"shop"}`), Version: 1, CreatedAt: t0, UpdatedAt: t0}
	blog := oidc.ClientRecord{ID: "blog", Data: []byte(`{"id":"blog"}`), Version: 1, CreatedAt: t0, UpdatedAt: t0}
	require.NoError(t, s.CreateClient(ctx, shop))
	require.NoError(t, s.CreateClient(ctx, blog))
	require.ErrorIs(t, s.CreateClient(ctx, shop), authn.ErrConflict, "an id is registered once")
	got, err := s.Client(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, shop, got)
	all, err := s.Clients(ctx)
	require.NoError(t, err)
	assert.Equal(t, []oidc.ClientRecord{blog, shop}, all)

	next := shop
	next.Data, next.Version, next.UpdatedAt = []byte(`{"id":"shop","name":"Shop"}`), 2, t0.Add(time.Minute)
	require.NoError(t, s.UpdateClient(ctx, next, 1))
	require.ErrorIs(t, s.UpdateClient(ctx, next, 1), authn.ErrConflict, "version 1 is gone")
	ghost := next
	ghost.ID = "ghost"
	require.ErrorIs(t, s.UpdateClient(ctx, ghost, 1), authn.ErrNotFound)
	got, err = s.Client(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, next, got)

	// Concurrent changes against one version: one wins.
	wins := race(t, concurrency, authn.ErrConflict, func(i int) error {
		r := next
		r.Version = 3
		r.Data = []byte(`{"id":"shop","name":"racer"}`)
		return s.UpdateClient(ctx, r, 2)
	})
	assert.Equal(t, 1, wins)

	// Deleting a client ends its grants: tokens revoked, consents and
	// relying-party sessions gone; the other client's stay.
	u := mkUser(t, s, "client-delete@example.com")
	for _, c := range []string{"shop", "blog"} {
		require.NoError(t, s.SaveConsent(ctx, oidc.ConsentRecord{UserID: u.ID, ClientID: c, Scopes: []string{"openid"}, GrantedAt: t0}))
		require.NoError(t, s.InsertToken(ctx, oidc.TokenRecord{ID: "tok-" + c, Kind: oidc.TokenRefresh, Hash: hash("refresh-" + c),
			Family: "fam-" + c, ClientID: c, UserID: u.ID, Data: []byte(`{}`), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		require.NoError(t, s.AddRPSession(ctx, oidc.RPSession{ClientID: c, SessionID: "sess-1", UserID: u.ID, CreatedAt: t0}))
	}
	at := t0.Add(2 * time.Minute)
	require.NoError(t, s.DeleteClient(ctx, "shop", at))
	require.ErrorIs(t, s.DeleteClient(ctx, "shop", at), authn.ErrNotFound, "deleted already")
	_, err = s.Client(ctx, "shop")
	require.ErrorIs(t, err, authn.ErrNotFound)
	for c, gone := range map[string]bool{"shop": true, "blog": false} {
		tok, err := s.Token(ctx, "tok-"+c)
		require.NoError(t, err)
		assert.Equal(t, gone, !tok.RevokedAt.IsZero(), "token of %s", c)
		_, err = s.Consent(ctx, u.ID, c)
		assert.Equal(t, gone, err != nil, "consent to %s", c)
	}
	rps, err := s.RPSessions(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, rps, 1)
	assert.Equal(t, "blog", rps[0].ClientID)
}

// testOIDCAssertions covers the private_key_jwt replay guard: a jti is
// taken once per client until it expires, by exactly one of concurrent
// uses, and the sweeper forgets expired ones.
func testOIDCAssertions(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	exp := t0.Add(5 * time.Minute)
	require.NoError(t, s.UseAssertion(ctx, "shop", "jti-1", exp, t0))
	require.ErrorIs(t, s.UseAssertion(ctx, "shop", "jti-1", exp, t0.Add(time.Minute)), authn.ErrConflict, "a replay")
	require.NoError(t, s.UseAssertion(ctx, "blog", "jti-1", exp, t0), "another client's jti is its own")
	require.NoError(t, s.UseAssertion(ctx, "shop", "jti-1", exp.Add(5*time.Minute), exp), "expired: the id may come again")

	wins := race(t, concurrency, authn.ErrConflict, func(int) error {
		return s.UseAssertion(ctx, "shop", "jti-race", exp, t0)
	})
	assert.Equal(t, 1, wins, "one of concurrent uses wins")

	n, err := s.DeleteExpired(ctx, exp.Add(time.Hour), 0)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, int64(3), "the expired assertions were swept")
	require.NoError(t, s.UseAssertion(ctx, "shop", "jti-race", exp.Add(2*time.Hour), exp.Add(time.Hour)))
}

// testOIDCHygiene covers what the provider leaves behind: erasing an
// account removes its OpenID Connect consents and tokens at once, and
// the sweeper forgets the relying parties' records of sessions that no
// longer exist (ended, or their account erased: back-channel logout read
// them when the session ended) and expired device authorizations.
func testOIDCHygiene(t *testing.T, newDB NewDatabase) {
	db := newDB(t)
	s, err := db.Open(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	count := func(q string) int64 {
		n, err := db.QueryInt(ctx, q)
		require.NoError(t, err)
		return n
	}
	u := mkUser(t, s, "hygiene-kept@example.com")
	gone := mkUser(t, s, "hygiene-erased@example.com")
	session := func(user string) string {
		id := newID(t)
		require.NoError(t, s.CreateSession(ctx, authn.Session{ID: id, TokenHash: randBytes(t), UserID: user, CreatedAt: t0,
			LastSeenAt: t0, IdleExpiresAt: t0.Add(24 * time.Hour), AbsoluteExpiresAt: t0.Add(24 * time.Hour), AAL: authn.AAL1}))
		return id
	}
	live, ended, erased := session(u.ID), session(u.ID), session(gone.ID)
	require.NoError(t, s.RevokeSession(ctx, u.ID, ended, t0))
	for _, rp := range []oidc.RPSession{{ClientID: "shop", SessionID: live, UserID: u.ID}, {ClientID: "shop", SessionID: ended, UserID: u.ID},
		{ClientID: "shop", SessionID: erased, UserID: gone.ID}, {ClientID: "blog", SessionID: "never-a-session", UserID: u.ID}} {
		rp.CreatedAt = t0
		require.NoError(t, s.AddRPSession(ctx, rp))
	}
	for _, user := range []string{u.ID, gone.ID} {
		require.NoError(t, s.SaveConsent(ctx, oidc.ConsentRecord{UserID: user, ClientID: "shop", Scopes: []string{"openid"}, GrantedAt: t0}))
		require.NoError(t, s.InsertToken(ctx, oidc.TokenRecord{ID: newID(t), Kind: oidc.TokenRefresh, Hash: randBytes(t), Family: "f-" + user,
			ClientID: "shop", UserID: user, Data: []byte(`{}`), CreatedAt: t0, ExpiresAt: t0.Add(48 * time.Hour)}))
	}
	require.NoError(t, s.CreateDeviceAuth(ctx, oidc.DeviceRecord{DeviceCodeHash: randBytes(t), UserCodeHash: randBytes(t), ClientID: "tv",
		Scopes: []string{"openid"}, ExpiresAt: t0.Add(10 * time.Minute), State: oidc.DevicePending}, t0))

	require.NoError(t, s.EraseUser(ctx, gone.ID, authn.ErasureRecord{Subject: hash("hygiene:" + gone.ID), ErasedAt: t0, Initiator: "user"}))
	assert.Zero(t, count(`SELECT count(*) FROM oidc_consents WHERE user_id = '`+gone.ID+`'`), "consents erased")
	assert.Zero(t, count(`SELECT count(*) FROM oidc_tokens WHERE user_id = '`+gone.ID+`'`), "tokens erased")
	assert.Equal(t, int64(1), count(`SELECT count(*) FROM oidc_consents`), "the other account's stay")

	_, err = s.DeleteExpired(ctx, t0.Add(time.Hour), 0)
	require.NoError(t, err)
	rps, err := s.RPSessions(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, rps, 1, "only the live session's record stays")
	assert.Equal(t, live, rps[0].SessionID)
	rps, err = s.RPSessions(ctx, gone.ID)
	require.NoError(t, err)
	assert.Empty(t, rps, "the erased account's records are gone")
	assert.Zero(t, count(`SELECT count(*) FROM oidc_device_codes`), "expired device authorizations swept")
	assert.Equal(t, int64(1), count(`SELECT count(*) FROM oidc_tokens`), "live tokens stay")
}
