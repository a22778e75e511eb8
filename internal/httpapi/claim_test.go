package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestPreRegistrationTakeoverOverHTTP: the attacker registers the victim's
// address from his browser and signs in: no session. The owner opens the
// verification link from the mailbox in her own browser: the answer asks
// her to set a password (with a token for /v1/password/reset), the
// attacker's password no longer signs in, and hers does.
func TestPreRegistrationTakeoverOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	attacker, owner := e.browser(), e.browser()
	const email = "wanda@example.com"
	const attackerChosen = "attacker chosen passphrase"

	r := attacker.post("/v1/register", map[string]any{"email": email, "password": attackerChosen})
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	assert.JSONEq(t, `{"verification_sent":true}`, string(r.body), "a browser gets the binding as a cookie, never in the body")
	require.NotEmpty(t, attacker.reg, "the registering browser holds the binding")
	var reg *http.Cookie
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		require.NoError(t, err)
		if c.Name == httpapi.RegistrationCookie {
			reg = c
		}
	}
	require.NotNil(t, reg)
	assert.True(t, reg.HttpOnly)
	assert.True(t, reg.Secure)
	assert.Equal(t, http.SameSiteStrictMode, reg.SameSite)

	r = attacker.post("/v1/login", map[string]any{"identifier": email, "password": attackerChosen})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "second_factor_required", r.json(t)["status"], "no session from a password before verification")
	assert.Equal(t, []any{"email_code"}, r.json(t)["methods"])
	assert.Nil(t, sessionCookie(t, r))

	r = owner.post("/v1/verify-email", map[string]any{"token": e.auth.token(t, email, mail.KindVerifyEmail)})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := r.json(t)
	require.Equal(t, "set_password", m["status"])
	pt, _ := m["password_token"].(string)
	require.NotEmpty(t, pt)
	e.auth.track(pt)

	r = attacker.post("/v1/login", map[string]any{"identifier": email, "password": attackerChosen})
	assert.Equal(t, http.StatusUnauthorized, r.status, "the attacker's password is gone: %s", r.body)
	r = owner.post("/v1/password/reset", map[string]any{"token": pt, "new_password": "the owner's own passphrase"})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	r = owner.post("/v1/login", map[string]any{"identifier": email, "password": "the owner's own passphrase"})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "authenticated", r.json(t)["status"])
}

// TestRegistrationBinding: where the link is opened decides what stays.
// The registering browser (cookie) and app (registration_secret) keep
// their password; the binding is spent with the link.
func TestRegistrationBinding(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	bearer := func(r *http.Request) {
		r.Header.Del("Origin")
		r.Header.Del("Sec-Fetch-Site")
		r.Header.Set(httpapi.HeaderSessionTransport, "bearer")
	}
	tests := []struct {
		name   string
		verify func(b *browser, email string, registered map[string]any) response
		want   string
	}{
		{"browser, same browser", func(b *browser, email string, _ map[string]any) response {
			return b.post("/v1/verify-email", map[string]any{"token": e.auth.token(t, email, mail.KindVerifyEmail)})
		}, "verified"},
		{"app, its secret", func(b *browser, email string, reg map[string]any) response {
			return b.post("/v1/verify-email", map[string]any{"token": e.auth.token(t, email, mail.KindVerifyEmail),
				"registration_secret": reg["registration_secret"]}, bearer)
		}, "verified"},
		{"app, without its secret", func(b *browser, email string, _ map[string]any) response {
			return b.post("/v1/verify-email", map[string]any{"token": e.auth.token(t, email, mail.KindVerifyEmail)}, bearer)
		}, "set_password"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := e.browser()
			email := []string{"xena@example.com", "yuri@example.com", "zoe@example.com"}[i]
			var opts []reqOpt
			if tc.name != "browser, same browser" {
				opts = append(opts, bearer)
			}
			r := b.post("/v1/register", map[string]any{"email": email, "password": userPassword}, opts...)
			require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
			reg := r.json(t)
			if len(opts) > 0 {
				require.NotEmpty(t, reg["registration_secret"], "an app gets the binding in the body")
				e.auth.track(reg["registration_secret"].(string))
				assert.Nil(t, sessionCookie(t, r))
				assert.Empty(t, r.header.Values("Set-Cookie"), "and no cookie")
			}
			r = tc.verify(b, email, reg)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			assert.Equal(t, tc.want, r.json(t)["status"])
			if tc.want == "verified" {
				assert.Empty(t, b.reg, "the spent binding is cleared")
				b.cookie = ""
				b.signIn(email)
			}
		})
	}
}
