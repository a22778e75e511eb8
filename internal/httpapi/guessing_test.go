package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// ids masks what differs between two answers by construction: the flow
// handle and its expiry.
var ids = regexp.MustCompile(`"(flow_id|flow_expires_at)":"[^"]*"`)

// TestGuessingOverHTTP: a distributed guessing attack through the API,
// 200 wrong passwords for one account, each from its own address (the
// proxy's X-Forwarded-For). Afterwards the right password is answered
// exactly like a wrong one: status, body (ids masked), no cookie, the
// same store calls and argon2id work. The owner, on the device they
// used before, still signs in with the mailed code.
func TestGuessingOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	owner := e.browser()
	const email = "uma@example.com"
	owner.register(email)
	owner.signIn(email)
	owner.cookie = ""

	attacker := e.browser()
	from := func(n int) reqOpt { return withHeader("X-Forwarded-For", fmt.Sprintf("198.18.%d.%d", n/250, 1+n%250)) }
	type answer struct {
		r      response
		calls  map[string]int
		hashes uint64
	}
	try := func(pw string, n int) answer {
		t.Helper()
		e.auth.calls.Reset()
		h := e.hashes()
		r := attacker.post("/v1/login", map[string]any{"identifier": email, "password": pw}, from(n))
		return answer{r, e.auth.calls.Calls(), e.hashes() - h}
	}
	for i := range 200 {
		a := try(fmt.Sprintf("wrong guess number %d", i), i)
		require.Contains(t, []int{http.StatusOK, http.StatusUnauthorized}, a.r.status, "body: %s", a.r.body)
	}
	wrong := try("yet another wrong guess", 500)
	right := try(userPassword, 501)

	require.Equal(t, http.StatusOK, wrong.r.status, "body: %s", wrong.r.body)
	assert.Equal(t, wrong.r.status, right.r.status)
	mask := func(b []byte) string { return ids.ReplaceAllString(string(b), `"$1":"…"`) }
	assert.Equal(t, mask(wrong.r.body), mask(right.r.body), "the same body, ids masked")
	assert.JSONEq(t, `{"status":"second_factor_required","methods":["email_code"],"flow_id":"…","flow_expires_at":"…"}`, mask(right.r.body))
	assert.Nil(t, sessionCookie(t, right.r))
	assert.Equal(t, wrong.calls, right.calls, "the same store calls")
	assert.Equal(t, uint64(1), right.hashes)
	assert.Equal(t, wrong.hashes, right.hashes, "the same argon2id work")

	// The flow of the wrong password never completes: asking for its code
	// mails nothing, and no code opens it.
	var wf struct {
		FlowID string `json:"flow_id"`
	}
	require.NoError(t, json.Unmarshal(wrong.r.body, &wf))
	mails := len(e.auth.mails(t, email, mail.KindLoginCode))
	r := attacker.post("/v1/login/email-code", map[string]any{"flow_id": wf.FlowID}, from(502))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, mails, len(e.auth.mails(t, email, mail.KindLoginCode)), "no mail for a wrong password")

	// The owner, on the known device: the password, then the mailed code.
	r = owner.post("/v1/login", map[string]any{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := r.json(t)
	require.Equal(t, "second_factor_required", m["status"])
	r = owner.post("/v1/login/email-code", map[string]any{"flow_id": m["flow_id"]})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	code := e.auth.code(t, email)
	r = attacker.post("/v1/login/email-code/verify", map[string]any{"flow_id": wf.FlowID, "code": code}, from(503))
	assert.Equal(t, "invalid_code", r.errorCode(t), "not even the owner's code opens the wrong flow")
	r = owner.post("/v1/login/email-code/verify", map[string]any{"flow_id": m["flow_id"], "code": code})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "authenticated", r.json(t)["status"])
	assert.Equal(t, http.StatusOK, owner.get("/v1/session").status)
}
