package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// identities are the links of the account with email.
func (e *upstreamEnv) identities(email string) []authn.LinkedIdentity {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.auth.store.UserByEmail(ctx, email)
	if err != nil {
		return nil
	}
	ids, err := e.auth.store.Identities(ctx, u.ID)
	require.NoError(e.t, err)
	return ids
}

// TestUpstreamSignIn: a new identity with a verified address registers
// and signs in; the linked identity signs in again, in another browser,
// to the same account.
func TestUpstreamSignIn(t *testing.T) {
	t.Parallel()
	e := newUpstreamEnv(t, "")
	e.idp.add(idpUser{id: "alice", email: "Alice@Example.com", verified: true})

	b := e.browser2()
	p := b.signInWith("alice", e.idp)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "/account", p.url.Path, "signed in and sent on")
	assert.True(t, b.signedIn())
	assert.Empty(t, b.cookie(httpapi.UpstreamCookie), "the state cookie is spent")
	u, err := e.auth.store.UserByEmail(context.Background(), "alice@example.com")
	require.NoError(t, err, "an account was registered")
	assert.False(t, u.EmailVerifiedAt.IsZero(), "the provider vouched for the address")
	assert.Empty(t, u.PasswordHash, "no password")
	ids := e.identities("alice@example.com")
	require.Len(t, ids, 1)
	assert.Equal(t, "idp", ids[0].Provider)
	assert.Equal(t, e.idp.url, ids[0].Issuer)
	assert.Equal(t, "alice", ids[0].Subject)

	again := e.browser2()
	p = again.signInWith("alice", e.idp)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "/account", p.url.Path)
	assert.True(t, again.signedIn())
	require.Len(t, e.identities("alice@example.com"), 1, "the same link, no second account")

	// return_to survives the round trip.
	third := e.browser2()
	e.idp.as("alice")
	p = third.get(e.url + "/login/upstream/idp?return_to=" + url.QueryEscape("/account/devices"))
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "/account/devices", p.url.Path)
}

// TestUpstreamLinkAfterProof: a new identity whose verified address an
// account has links only after the user proves that account, in the same
// flow; the owner is mailed.
func TestUpstreamLinkAfterProof(t *testing.T) {
	t.Parallel()
	e := newUpstreamEnv(t, "")
	const email = "bob@example.com"
	e.browser().register(email)
	e.idp.add(idpUser{id: "bob", email: email, verified: true})

	b := e.browser2()
	p := b.signInWith("bob", e.idp)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Contains(t, p.body, "An account with this email address exists")
	assert.Contains(t, p.body, `name="password"`, "the existing account's first factor")
	assert.False(t, b.signedIn())
	assert.Empty(t, e.identities(email), "nothing linked before the proof")

	// A wrong password links nothing.
	bad := b.submit(p, map[string]string{"step": "password", "password": "not the password at all"})
	assert.Equal(t, http.StatusUnauthorized, bad.status)
	assert.Empty(t, e.identities(email))

	p = b.submit(bad, map[string]string{"step": "password", "password": userPassword})
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "/account", p.url.Path)
	assert.True(t, b.signedIn())
	ids := e.identities(email)
	require.Len(t, ids, 1, "linked after the proof")
	assert.Equal(t, "bob", ids[0].Subject)
	require.Eventually(t, func() bool {
		for _, m := range e.auth.mails(t, email, mail.KindMFAChanged) {
			if strings.Contains(m.Text, "Test IdP account was linked") {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the owner is told")

	// From now on the identity signs in by itself.
	next := e.browser2()
	p = next.signInWith("bob", e.idp)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "/account", p.url.Path)
}

// TestUpstreamUnverifiedNeverLinks: an address the provider does not
// vouch for neither links to the account that has it nor registers one.
func TestUpstreamUnverifiedNeverLinks(t *testing.T) {
	t.Parallel()
	e := newUpstreamEnv(t, "")
	const email = "carol@example.com"
	e.browser().register(email)
	e.idp.add(idpUser{id: "carol", email: email, verified: false})
	e.idp.add(idpUser{id: "dave", email: "dave@example.com", verified: false})

	for _, who := range []string{"carol", "dave"} {
		b := e.browser2()
		p := b.signInWith(who, e.idp)
		assert.Equal(t, http.StatusForbidden, p.status, who)
		assert.Contains(t, p.body, "did not confirm your email address", who)
		assert.False(t, b.signedIn(), who)
	}
	assert.Empty(t, e.identities(email))
	_, err := e.auth.store.UserByEmail(context.Background(), "dave@example.com")
	assert.ErrorIs(t, err, authn.ErrNotFound, "no account for an unverified address")
}

// TestUpstreamState: the callback is refused with another state, without
// the browser's cookie, in another browser, and when replayed; a code
// from another sign-in does not pass the PKCE and nonce binding.
func TestUpstreamState(t *testing.T) {
	t.Parallel()
	e := newUpstreamEnv(t, "")
	e.idp.add(idpUser{id: "erin", email: "erin@example.com", verified: true})
	e.idp.as("erin")

	// callback runs the flow up to riskauth's callback and returns it.
	callback := func(b *upstreamBrowser) *url.URL {
		b.stop = true
		defer func() { b.stop = false }()
		p := b.get(e.url + "/login/upstream/idp")
		require.Equal(t, http.StatusFound, p.status, p.body)
		u, err := url.Parse(p.location)
		require.NoError(t, err)
		require.True(t, strings.HasSuffix(u.Path, "/login/upstream/idp/callback"), p.location)
		require.NotEmpty(t, u.Query().Get("code"))
		return u
	}
	with := func(u *url.URL, k, v string) string {
		q := u.Query()
		q.Set(k, v)
		w := *u
		w.RawQuery = q.Encode()
		return w.String()
	}

	b := e.browser2()
	cb := callback(b)
	jarCookie := b.cookie(httpapi.UpstreamCookie)
	require.NotEmpty(t, jarCookie)

	p := b.get(with(cb, "state", "forged-state"))
	assert.Equal(t, http.StatusBadRequest, p.status, "another state")
	assert.Contains(t, p.body, "no longer valid")

	other := e.browser2()
	p = other.get(cb.String())
	assert.Equal(t, http.StatusBadRequest, p.status, "another browser (no cookie)")
	assert.False(t, other.signedIn())

	// The refused attempts above consumed nothing: the right browser
	// still completes, once.
	b.client.Jar.SetCookies(asHTTPS(cb), []*http.Cookie{{Name: httpapi.UpstreamCookie, Value: jarCookie, Path: "/"}})
	p = b.get(cb.String())
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "/account", p.url.Path)

	replay := e.browser2()
	replay.client.Jar.SetCookies(asHTTPS(cb), []*http.Cookie{{Name: httpapi.UpstreamCookie, Value: jarCookie, Path: "/"}})
	p = replay.get(cb.String())
	assert.Equal(t, http.StatusBadRequest, p.status, "a replayed callback, cookie and all")
	assert.False(t, replay.signedIn())

	// Two sign-ins in one browser: the first one's code with the second
	// one's state and cookie is another sign-in's code.
	c := e.browser2()
	first := callback(c)
	second := callback(c)
	p = c.get(with(second, "code", first.Query().Get("code")))
	assert.Equal(t, http.StatusUnauthorized, p.status, "a code from another sign-in: %s", p.body)
	assert.False(t, c.signedIn())

	// An error from the provider signs nobody in.
	d := e.browser2()
	cb = callback(d)
	q := cb.Query()
	q.Del("code")
	q.Set("error", "access_denied")
	cb.RawQuery = q.Encode()
	p = d.get(cb.String())
	assert.Equal(t, http.StatusUnauthorized, p.status)
	assert.False(t, d.signedIn())
}

// TestUpstreamDown: a provider that does not answer discovery gets the
// "unavailable" page (503, Retry-After) at its deadline, not a hang; the
// next attempt is answered at once.
func TestUpstreamDown(t *testing.T) {
	t.Parallel()
	e := newUpstreamEnv(t, "")
	b := e.browser2()
	start := time.Now()
	p := b.get(e.url + "/login/upstream/down")
	assert.Equal(t, http.StatusServiceUnavailable, p.status)
	assert.Contains(t, p.body, "not answering right now")
	assert.Less(t, time.Since(start), 25*time.Second, "ends at the deadline (1s), with room for a loaded machine")
	req, err := http.NewRequest(http.MethodGet, e.url+"/login/upstream/down", nil)
	require.NoError(t, err)
	resp, err := b.client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))

	p = b.get(e.url + "/login/upstream/nope")
	assert.Equal(t, http.StatusNotFound, p.status, "an unknown provider")
}

const upstreamRiskRules = `version: 1
thresholds: { step_up: 40, block: 80 }
rules:
  - id: upstream-step-up
    description: sign-ins through the test IdP need a second factor
    when: event.kind == "login" && authn.factor == "upstream" && attr.upstream_provider == "idp"
    action: step_up
  - id: upstream-block
    description: nobody signs in through idp2
    when: event.kind == "login" && authn.factor == "upstream" && attr.upstream_provider == "idp2"
    action: block
`

// TestUpstreamRisk: the engine judges upstream sign-ins like any other:
// a step-up asks for a riskauth second factor after the upstream, a
// block refuses.
func TestUpstreamRisk(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(upstreamRiskRules), 0o600))
	e := newUpstreamEnv(t, path)
	e.idp.add(idpUser{id: "fay", email: "fay@example.com", verified: true})
	e.idp.add(idpUser{id: "gus", email: "gus@example.com", verified: true})

	b := e.browser2()
	p := b.signInWith("fay", e.idp)
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Contains(t, p.body, `name="code"`, "a second factor after the upstream")
	assert.False(t, b.signedIn())
	p = b.submit(p, map[string]string{"code": e.auth.code(t, "fay@example.com")})
	require.Equal(t, http.StatusOK, p.status, p.body)
	assert.Equal(t, "/account", p.url.Path)
	assert.True(t, b.signedIn())

	g := e.browser2()
	p = g.signInVia("idp2", "gus", e.idp)
	assert.Equal(t, http.StatusUnauthorized, p.status, p.body)
	assert.False(t, g.signedIn())
}

// TestUpstreamUnlink: the owner lists the linked identities and unlinks
// one, but never the account's last way to sign in; the account page
// shows them; the admin view and the export include them.
func TestUpstreamUnlink(t *testing.T) {
	t.Parallel()
	e := newUpstreamEnv(t, "")
	e.idp.add(idpUser{id: "hal", email: "hal@example.com", verified: true})
	const email = "ivy@example.com"
	e.browser().register(email)
	e.idp.add(idpUser{id: "ivy", email: email, verified: true})

	// hal's account has no password: its only link cannot go.
	hal := e.browser2()
	require.Equal(t, "/account", hal.signInWith("hal", e.idp).url.Path)
	status, body := hal.api(http.MethodGet, "/v1/account/identities")
	require.Equal(t, http.StatusOK, status, body)
	var list struct {
		Identities []struct {
			ID, Provider, Issuer, Email string
		} `json:"identities"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list.Identities, 1)
	assert.Equal(t, "idp", list.Identities[0].Provider)
	assert.Equal(t, "hal@example.com", list.Identities[0].Email)
	status, body = hal.api(http.MethodDelete, "/v1/account/identities/"+list.Identities[0].ID)
	assert.Equal(t, http.StatusUnprocessableEntity, status, body)
	assert.Contains(t, body, "only way to sign in")
	p := hal.get(e.url + "/account/security")
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.body, "Test IdP", "the security page lists the link")

	// ivy has a password: the link goes, audited.
	ivy := e.browser2()
	p = ivy.signInWith("ivy", e.idp)
	p = ivy.submit(p, map[string]string{"step": "password", "password": userPassword})
	require.Equal(t, "/account", p.url.Path, p.body)
	ids := e.identities(email)
	require.Len(t, ids, 1)

	admin := e.browser()
	u, err := e.auth.store.UserByEmail(context.Background(), email)
	require.NoError(t, err)
	r := admin.get("/v1/admin/users/"+u.ID, asAdmin(usersKeySupport))
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.Contains(t, string(r.body), `"identities":[{`, "the admin view shows the link")

	status, body = ivy.api(http.MethodDelete, "/v1/account/identities/nope")
	assert.Equal(t, http.StatusNotFound, status, body)
	status, body = ivy.api(http.MethodDelete, "/v1/account/identities/"+ids[0].ID)
	require.Equal(t, http.StatusOK, status, body)
	assert.Empty(t, e.identities(email))
	require.Eventually(t, func() bool {
		for _, m := range e.auth.mails(t, email, mail.KindMFAChanged) {
			if strings.Contains(m.Text, "was unlinked") {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond, "the owner is told")

	// Unlinked, the identity no longer signs in by itself: it asks for
	// the account's proof again.
	again := e.browser2()
	p = again.signInWith("ivy", e.idp)
	assert.Contains(t, p.body, "An account with this email address exists")
}
