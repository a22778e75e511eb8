package httpapi_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/passkey/passkeytest"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// exportSchema is docs/schemas/export-bundle.v1.schema.json, compiled.
func exportSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	path, err := filepath.Abs(filepath.Join("..", "..", "docs", "schemas", "export-bundle.v1.schema.json"))
	require.NoError(t, err)
	s, err := c.Compile(path)
	require.NoError(t, err)
	return s
}

// enrolTOTP sets up an authenticator app for b's account and returns its
// recovery codes: the account's sessions are AAL1 until a step-up.
func enrolTOTP(t *testing.T, e *env, b *browser) []string {
	t.Helper()
	r := b.post("/v1/totp", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var en struct {
		FactorID string `json:"factor_id"`
		Secret   string `json:"secret"`
	}
	require.NoError(t, json.Unmarshal(r.body, &en))
	e.auth.track(en.Secret)
	r = b.post("/v1/totp/confirm", map[string]any{"factor_id": en.FactorID, "code": totpAt(t, en.Secret, time.Now())})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var rc struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	require.NoError(t, json.Unmarshal(r.body, &rc))
	for _, c := range rc.RecoveryCodes {
		e.auth.track(c)
	}
	return rc.RecoveryCodes
}

// TestAccountExport: the export needs a session stepped up (403 before),
// mails a link once per interval (429 after), and the link downloads, for
// its owner only and once, a bundle that validates against the documented
// schema and holds what the account holds, without secrets.
func TestAccountExport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b, other := e.browser(), e.browser()
	const email, otherEmail = "export@example.com", "export-other@example.com"

	r := b.post("/v1/account/export", nil)
	require.Equal(t, http.StatusUnauthorized, r.status, "a session is required: %s", r.body)
	b.register(email)
	b.signIn(email)
	r = b.call(http.MethodPatch, "/v1/account", map[string]any{"display_name": "Exa", "attributes": map[string]any{"nickname": "ex"}},
		ifMatch(`"0"`), withHeader("Content-Type", "application/json"))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	codes := enrolTOTP(t, e, b)

	r = b.post("/v1/account/export", nil)
	require.Equal(t, http.StatusForbidden, r.status, "an AAL1 session of an account with an app: %s", r.body)
	assert.Equal(t, "reauthentication_required", r.errorCode(t))
	r = b.post("/v1/reauthenticate", map[string]any{"password": userPassword, "recovery_code": codes[0]})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	// A passkey, which the bundle lists without its key.
	c := ceremonyOf(t, b.post("/v1/account/passkeys/begin", map[string]any{}))
	cred, err := passkeytest.New(e.url).Create(c.Options)
	require.NoError(t, err)
	r = b.post("/v1/account/passkeys", map[string]any{"ceremony": c.Ceremony, "credential": json.RawMessage(cred), "name": "Key"})
	require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	pkID := r.json(t)["id"]
	r = b.post("/v1/account/export", map[string]any{"x": 1})
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	assert.Equal(t, "mailed", r.json(t)["status"])
	assert.EqualValues(t, 3600, r.json(t)["expires_in"])
	r = b.post("/v1/account/export", nil)
	require.Equal(t, http.StatusTooManyRequests, r.status, "one export per day: %s", r.body)
	assert.Equal(t, "rate_limited", r.errorCode(t))
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	r = b.post("/v1/account/export", `{"client":`)
	require.Equal(t, http.StatusBadRequest, r.status, "malformed: %s", r.body)

	link := e.auth.link(t, email, mail.KindDataExport)
	_, landing, ok := strings.Cut(link, e.url)
	require.True(t, ok, link)
	require.True(t, strings.HasPrefix(landing, "/account/export?token="), "the mail links the hosted page: %s", landing)
	_, linkTok, _ := strings.Cut(landing, "token=")
	path := "/v1/account/export/download?token=" + linkTok

	r = b.get("/v1/account/export/download")
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "no token: %s", r.body)
	r = e.browser().get(path)
	require.Equal(t, http.StatusUnauthorized, r.status, "signed out: %s", r.body)
	other.register(otherEmail)
	other.signIn(otherEmail)
	r = other.get(path)
	require.Equal(t, http.StatusGone, r.status, "another user's link: %s", r.body)
	assert.Equal(t, "invalid_token", r.errorCode(t))

	r = b.get(path)
	require.Equal(t, http.StatusOK, r.status, "body: %.300s", r.body)
	assert.Contains(t, r.header.Get("Content-Disposition"), "attachment")
	assert.Equal(t, "no-referrer", r.header.Get("Referrer-Policy"))
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(r.body)))
	require.NoError(t, err)
	require.NoError(t, exportSchema(t).Validate(v))
	var bundle struct {
		UserID  string `json:"user_id"`
		Account struct {
			Email string `json:"email"`
		} `json:"account"`
		Profile struct {
			DisplayName string `json:"display_name"`
			Attributes  []struct {
				Name         string `json:"name"`
				PersonalData bool   `json:"personal_data"`
			} `json:"attributes"`
		} `json:"profile"`
		Factors struct {
			TOTP                   []struct{ Status string } `json:"totp"`
			RecoveryCodesRemaining int                       `json:"recovery_codes_remaining"`
			Passkeys               []map[string]any          `json:"passkeys"`
		} `json:"factors"`
		Sessions []any `json:"sessions"`
		Activity []struct {
			Kind string `json:"kind"`
		} `json:"activity"`
		RiskProfile *struct {
			Logins int `json:"logins"`
		} `json:"risk_profile"`
		NotIncluded []any `json:"not_included"`
	}
	require.NoError(t, json.Unmarshal(r.body, &bundle))
	assert.Equal(t, email, bundle.Account.Email)
	assert.Equal(t, "Exa", bundle.Profile.DisplayName)
	require.Len(t, bundle.Profile.Attributes, 1)
	assert.True(t, bundle.Profile.Attributes[0].PersonalData)
	require.Len(t, bundle.Factors.TOTP, 1)
	assert.Equal(t, "active", bundle.Factors.TOTP[0].Status)
	assert.Equal(t, 9, bundle.Factors.RecoveryCodesRemaining)
	require.Len(t, bundle.Factors.Passkeys, 1)
	assert.Equal(t, pkID, bundle.Factors.Passkeys[0]["id"])
	assert.Equal(t, "Key", bundle.Factors.Passkeys[0]["name"])
	assert.NotEmpty(t, bundle.Sessions)
	assert.NotEmpty(t, bundle.Activity)
	require.NotNil(t, bundle.RiskProfile)
	assert.Positive(t, bundle.RiskProfile.Logins)
	assert.NotEmpty(t, bundle.NotIncluded)
	for _, secret := range append(e.auth.secrets(), userPassword, "$argon2id") {
		assert.NotContains(t, string(r.body), secret, "no secret in the bundle")
	}

	r = b.get(path)
	require.Equal(t, http.StatusGone, r.status, "single use: %s", r.body)
}

// TestAccountDeletion: erasure needs a stepped-up session, is scheduled
// after the grace period (a second request keeps the date), shows, is
// cancelled by the route and by signing in, and an admin delete erases at
// once.
func TestAccountDeletion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	const email = "erase@example.com"

	r := b.call(http.MethodDelete, "/v1/account", nil)
	require.Equal(t, http.StatusUnauthorized, r.status, "body: %s", r.body)
	b.register(email)
	b.signIn(email)
	codes := enrolTOTP(t, e, b)
	r = b.call(http.MethodDelete, "/v1/account", nil)
	require.Equal(t, http.StatusForbidden, r.status, "body: %s", r.body)
	assert.Equal(t, "reauthentication_required", r.errorCode(t))
	r = b.post("/v1/reauthenticate", map[string]any{"password": userPassword, "recovery_code": codes[0]})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)

	before := time.Now()
	r = b.call(http.MethodDelete, "/v1/account", nil)
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	var d struct {
		Pending bool      `json:"pending"`
		DueAt   time.Time `json:"due_at"`
	}
	require.NoError(t, json.Unmarshal(r.body, &d))
	assert.True(t, d.Pending)
	assert.WithinDuration(t, before.Add(7*24*time.Hour), d.DueAt, time.Hour)
	require.NotEmpty(t, e.auth.mails(t, email, mail.KindAccountDeletion))
	r = b.call(http.MethodDelete, "/v1/account", nil)
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	var d2 struct {
		DueAt time.Time `json:"due_at"`
	}
	require.NoError(t, json.Unmarshal(r.body, &d2))
	assert.True(t, d.DueAt.Equal(d2.DueAt), "a second request keeps the first date")

	r = b.get("/v1/account/deletion")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, true, r.json(t)["pending"])
	r = b.post("/v1/account/deletion/cancel", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, true, r.json(t)["cancelled"])
	r = b.post("/v1/account/deletion/cancel", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, false, r.json(t)["cancelled"])
	r = b.get("/v1/account/deletion")
	assert.Equal(t, false, r.json(t)["pending"])

	// Signing in (with the second factor: the account has one) cancels.
	r = b.call(http.MethodDelete, "/v1/account", nil)
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	other := e.browser()
	r = other.post("/v1/login", map[string]any{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := r.json(t)
	require.Equal(t, "second_factor_required", m["status"], "body: %s", r.body)
	r = other.post("/v1/login/recovery-code", map[string]any{"flow_id": m["flow_id"], "code": codes[1]})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	r = other.get("/v1/account/deletion")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, false, r.json(t)["pending"], "the sign-in cancelled it")
}

// Real answers of the privacy routes validate against the document.
func TestOpenAPIPrivacyConform(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e := newEnv(t, httpapi.Config{BodyLimit: 8 << 10})
	b := e.browser()
	check := func(name, method, path, body string, status int, valid bool) response {
		t.Helper()
		var r response
		if body == "" {
			r = b.call(method, path, nil)
		} else {
			r = b.call(method, path, body)
		}
		t.Run(name, func(t *testing.T) {
			require.Equal(t, status, r.status, "body: %.300s", r.body)
			validate(t, router, exchange{name: name, method: method, path: path, body: body, status: status, validRequest: valid}, r)
		})
		return r
	}
	const email = "doc-privacy@example.com"
	check("deletion signed out", "GET", "/v1/account/deletion", "", 401, true)
	b.register(email)
	b.signIn(email)
	check("deletion none", "GET", "/v1/account/deletion", "", 200, true)
	check("export", "POST", "/v1/account/export", "{}", 202, true)
	check("export again", "POST", "/v1/account/export", "{}", 429, true)
	path := "/v1/account/export/download?token=" + e.auth.token(t, email, mail.KindDataExport)
	check("download no token", "GET", "/v1/account/export/download", "", 422, false)
	check("download", "GET", path, "", 200, true)
	check("download again", "GET", path, "", 410, true)
	check("delete", "DELETE", "/v1/account", "", 202, true)
	check("deletion pending", "GET", "/v1/account/deletion", "", 200, true)
	check("cancel", "POST", "/v1/account/deletion/cancel", "", 200, true)
	check("cancel malformed", "POST", "/v1/account/deletion/cancel", `{"client":`, 400, false)
}
