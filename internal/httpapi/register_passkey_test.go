package httpapi_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/passkey/passkeytest"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestPasskeySignupAPI drives a passkey-only account through the API
// with a software authenticator: registered without a password (a taken
// address answers alike), no sign-in before verification, then a
// passkey sign-in at AAL2, a password attempt refused like a wrong one,
// and the first password set behind a passkey re-authentication. Every
// answer validates against the OpenAPI document.
func TestPasskeySignupAPI(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e := newEnv(t, httpapi.Config{})
	check := func(b *browser, name, method, path string, body any, status int) response {
		t.Helper()
		j, _ := json.Marshal(body)
		r := b.call(method, path, string(j), withHeader("Content-Type", "application/json"))
		require.Equal(t, status, r.status, "%s: body: %s", name, r.body)
		validate(t, router, exchange{name: name, method: method, path: path, body: string(j), status: status,
			validRequest: !strings.HasPrefix(name, "invalid")}, r)
		return r
	}
	// signup answers a registration's ceremony with a new passkey of a.
	signup := func(b *browser, name, email string, a *passkeytest.Authenticator) map[string]any {
		t.Helper()
		r := check(b, name, "POST", "/v1/register/passkey", map[string]any{"email": email}, 202).json(t)
		pc := r["passkey"].(map[string]any)
		opts, err := json.Marshal(pc["options"])
		require.NoError(t, err)
		cred, err := a.Create(opts)
		require.NoError(t, err)
		check(b, name+" finish", "POST", "/v1/register/passkey/finish", map[string]any{"ceremony": pc["ceremony"],
			"credential": json.RawMessage(cred), "name": "Phone"}, 200)
		return r
	}
	signIn := func(b *browser, name string, a *passkeytest.Authenticator, status int) response {
		t.Helper()
		c := ceremonyOf(t, b.post("/v1/login/passkey/begin", map[string]any{}))
		as, err := a.Get(c.Options)
		require.NoError(t, err)
		return check(b, name, "POST", "/v1/login/passkey", map[string]any{"ceremony": c.Ceremony, "credential": json.RawMessage(as)}, status)
	}

	const email = "pia@example.com"
	a := passkeytest.New(e.url)
	b := e.browser()
	fresh := signup(b, "register", email, a)
	r := signIn(e.browser(), "before verification", a, 403).json(t)
	assert.Equal(t, "email_unverified", r["error"].(map[string]any)["code"])
	check(b, "verify", "POST", "/v1/verify-email", map[string]any{"token": e.auth.token(t, email, mail.KindVerifyEmail)}, 200)

	// A taken address: the same answer's shape, the passkey dropped.
	squat := passkeytest.New(e.url)
	taken := signup(e.browser(), "register taken", email, squat)
	assert.ElementsMatch(t, slices.Collect(maps.Keys(fresh)), slices.Collect(maps.Keys(taken)))
	signIn(e.browser(), "taken address's passkey", squat, 401)
	check(b, "invalid: no email", "POST", "/v1/register/passkey", map[string]any{}, 422)
	check(b, "finish unknown", "POST", "/v1/register/passkey/finish", map[string]any{"ceremony": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"credential": map[string]any{"id": "AAAA"}}, 404)

	s := e.browser()
	out := signIn(s, "sign in", a, 200).json(t)
	assert.EqualValues(t, 2, out["session"].(map[string]any)["aal"])
	r = check(e.browser(), "password sign-in", "POST", "/v1/login", map[string]any{"identifier": email, "password": userPassword}, 401).json(t)
	assert.Equal(t, "login_failed", r["error"].(map[string]any)["code"])

	// The first password: no current one to give, the fresh AAL2
	// session of the passkey sign-in is the proof.
	check(s, "set a first password", "POST", "/v1/password/change", map[string]any{"new_password": userPassword}, 200)
	r = check(e.browser(), "password sign-in after", "POST", "/v1/login", map[string]any{"identifier": email, "password": userPassword}, 200).json(t)
	assert.Equal(t, "second_factor_required", r["status"], "the password of an account with a passkey is never alone")
}
