package httpapi_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// TestAccountEmailChange: a fresh session asks for a new address (202);
// nothing changes until the link mailed to the new address is redeemed,
// once (of concurrent redemptions one applies); then the account has the
// new address, verified, and the old address got a notice whose link
// undoes the change: the address comes back, every session ends and a
// reset link goes out.
func TestAccountEmailChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	const old, next = "change-old@example.com", "change-new@example.com"
	b.register(old)
	b.signIn(old)

	r := b.post("/v1/account/email", map[string]any{"new_email": "Change-New@Example.com"})
	require.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	m := r.json(t)
	assert.Equal(t, false, m["approval_required"])
	assert.Equal(t, old, b.get("/v1/account").json(t)["email"], "nothing changes before the new address is proven")
	assert.Empty(t, e.auth.mails(t, old, mail.KindEmailChanged))

	tok := e.auth.token(t, next, mail.KindEmailChange)
	statuses := make([]int, 4)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = e.browser().post("/v1/account/email/confirm", map[string]any{"token": tok}).status
		})
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			won++
		} else {
			assert.Equal(t, http.StatusGone, s)
		}
	}
	require.Equal(t, 1, won, "single use: %v", statuses)
	acc := b.get("/v1/account").json(t)
	assert.Equal(t, next, acc["email"])
	assert.Equal(t, true, acc["email_verified"])

	// The owner of the old address undoes it.
	undo := e.auth.token(t, old, mail.KindEmailChanged)
	r = e.browser().post("/v1/account/email/undo", map[string]any{"token": undo})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m = r.json(t)
	assert.Equal(t, 1.0, m["sessions_revoked"])
	assert.Equal(t, true, m["reset_sent"])
	assert.Len(t, e.auth.mails(t, old, mail.KindPasswordReset), 1)
	assert.Equal(t, http.StatusUnauthorized, b.get("/v1/account").status, "every session ended")
	r = e.browser().post("/v1/account/email/undo", map[string]any{"token": undo})
	assert.Equal(t, http.StatusGone, r.status, "once: %s", r.body)
	b.signIn(old)
	assert.Equal(t, old, b.get("/v1/account").json(t)["email"])

	t.Run("taken address", func(t *testing.T) {
		const other = "change-taken@example.com"
		e.browser().register(other)
		before := len(e.auth.mails(t, other, mail.KindAccountExists))
		r := b.post("/v1/account/email", map[string]any{"new_email": other})
		require.Equal(t, http.StatusAccepted, r.status, "the same answer: %s", r.body)
		assert.Equal(t, false, r.json(t)["approval_required"])
		assert.Empty(t, e.auth.mails(t, other, mail.KindEmailChange), "no link to redeem")
		assert.Len(t, e.auth.mails(t, other, mail.KindAccountExists), before+1, "its owner is told")
	})
	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			body  string
			field string
		}{
			{`{}`, "new_email"},
			{`{"new_email":"x","colour":1}`, "colour"},
			{`{"new_email":5}`, "new_email"},
			{`{"new_email":"` + old + `"}`, "new_email"},
		} {
			r := b.post("/v1/account/email", tc.body)
			require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s: %s", tc.body, r.body)
			assert.Contains(t, r.fields(t), tc.field)
		}
		r := b.post("/v1/account/email", `{"new_email":"not an address"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "body: %s", r.body)
		assert.Equal(t, "invalid_email", r.errorCode(t))
		r = b.post("/v1/account/email", `{}`, withHeader("Content-Type", "text/plain"))
		assert.Equal(t, http.StatusUnsupportedMediaType, r.status)
		r = b.post("/v1/account/email", `{"new_email":"a@b.example"}`, withHeader("Sec-Fetch-Site", "cross-site"))
		assert.Equal(t, http.StatusForbidden, r.status)
		r = e.browser().post("/v1/account/email/confirm", map[string]any{"token": "not-a-token"})
		assert.Equal(t, http.StatusGone, r.status, "body: %s", r.body)
	})
}

// TestAccountEmailChangeReauth: a session older than the re-authentication
// window cannot change the address (403 reauthentication_required).
func TestAccountEmailChangeReauth(t *testing.T) {
	t.Parallel()
	e := newEnvAuthn(t, httpapi.Config{}, "", func(c *authn.Config) { c.ReauthWindow = time.Nanosecond })
	b := e.browser()
	const email = "change-stale@example.com"
	b.register(email)
	b.signIn(email)
	r := b.post("/v1/account/email", map[string]any{"new_email": "change-stale-new@example.com"})
	require.Equal(t, http.StatusForbidden, r.status, "body: %s", r.body)
	assert.Equal(t, "reauthentication_required", r.errorCode(t))
	assert.Empty(t, e.auth.mails(t, "change-stale-new@example.com", ""), "nothing sent")
}

// Real answers of the email change routes validate against the document.
func TestOpenAPIEmailChangeConform(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e := newEnv(t, httpapi.Config{BodyLimit: 8 << 10})
	b := e.browser()
	check := func(name, path, body string, status int, valid bool, opts ...reqOpt) {
		t.Helper()
		r := b.call(http.MethodPost, path, body, opts...)
		t.Run(name, func(t *testing.T) {
			require.Equal(t, status, r.status, "body: %.300s", r.body)
			validate(t, router, exchange{name: name, method: "POST", path: path, body: body, status: status, validRequest: valid}, r)
		})
	}
	const email, next = "doc-change@example.com", "doc-change-new@example.com"
	check("signed out", "/v1/account/email", `{"new_email":"`+next+`"}`, 401, true)
	b.register(email)
	b.signIn(email)
	check("invalid", "/v1/account/email", `{"new_email":"`+email+`"}`, 422, true)
	check("change", "/v1/account/email", `{"new_email":"`+next+`"}`, 202, true)
	tok := e.auth.token(t, next, mail.KindEmailChange)
	check("confirm", "/v1/account/email/confirm", `{"token":"`+tok+`"}`, 200, true)
	check("confirm again", "/v1/account/email/confirm", `{"token":"`+tok+`"}`, 410, true)
	undo := e.auth.token(t, email, mail.KindEmailChanged)
	check("undo", "/v1/account/email/undo", `{"token":"`+undo+`"}`, 200, true)
}
