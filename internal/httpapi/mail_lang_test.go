package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestMailLanguage: a mail is written in the user's profile locale,
// else the language of the browser that asked (Accept-Language, from a
// hosted page or the JSON API), else English.
func TestMailLanguage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	const email = "mail-lang@example.com"
	b := e.browser()
	b.register(email)
	last := func() mail.OutboxRecord {
		t.Helper()
		ms := e.auth.mails(t, email, mail.KindPasswordReset)
		require.NotEmpty(t, ms)
		return ms[len(ms)-1]
	}

	// The forgotten-password page in a German browser: the mail in German.
	f := e.formBrowser(t)
	f.lang = "de-CH,de;q=0.9,en;q=0.5"
	p := f.do(http.MethodGet, "/password/forgot", nil, nil)
	require.Equal(t, http.StatusOK, p.status)
	r := f.submit(p, "/password/forgot", map[string]string{"email": email})
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	m := last()
	assert.Contains(t, m.Subject, "Passwort zurück")
	assert.Contains(t, m.Text, "Der Link funktioniert einmal")

	// The JSON API from a French browser: not offered, English.
	r = b.post("/v1/password/reset/request", map[string]any{"email": email}, withHeader("Accept-Language", "fr-FR"))
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	assert.Equal(t, "Reset your riskauth password", last().Subject)

	// The profile says German: it goes before an English browser.
	b.signIn(email)
	r = b.call(http.MethodPatch, "/v1/account", map[string]any{"locale": "de"}, ifMatch(`"0"`))
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	r = b.post("/v1/password/reset/request", map[string]any{"email": email}, withHeader("Accept-Language", "en-US"))
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	assert.Contains(t, last().Subject, "Passwort zurück")
}
