package httpapi_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (e *env) patchUserProfile(key, id, match, body string) response {
	e.t.Helper()
	opts := []reqOpt{asAdmin(key), withHeader("Content-Type", "application/json")}
	if match != "" {
		opts = append(opts, withHeader("If-Match", match))
	}
	return e.do("PATCH", "/v1/admin/users/"+id+"/profile", strings.NewReader(body), opts...)
}

// TestAdminUserProfile: support sets a customer's profile and the
// attributes the owner may not edit, against the version read (428, 412),
// with a reason, every bad field named; the owner sees the change; the
// single customer view shows profile, devices, history and the engine's
// risk summary; a search finds accounts by an attribute's value.
func TestAdminUserProfile(t *testing.T) {
	t.Parallel()
	e, ids := usersEnv(t)
	ann, ben := ids["ann@example.com"], ids["ben@example.com"]
	b := e.browser()
	require.Equal(t, "authenticated", signInOn(t, b, "ann@example.com", "ann-cookie-1"))

	r := e.do("GET", "/v1/admin/users/"+ann, nil, asAdmin(usersKeySupport))
	require.Equal(t, 200, r.status, "%s", r.body)
	v := r.json(t)
	require.NotNil(t, v["profile"], "%s", r.body)
	assert.EqualValues(t, 0, v["profile"].(map[string]any)["version"])
	assert.NotEmpty(t, v["devices"], "the device ann signed in from")
	assert.NotEmpty(t, v["history"], "ann's sign-in in her history")
	risk, _ := v["risk"].(map[string]any)
	require.NotNil(t, risk, "%s", r.body)
	assert.EqualValues(t, 1, risk["logins"])
	consents, _ := v["consents"].(map[string]any)
	require.NotNil(t, consents, "%s", r.body)
	assert.Contains(t, consents, "purposes")

	// "tier" is not user-editable: the owner may not set it, support may.
	r = b.call("PATCH", "/v1/account", `{"attributes":{"tier":"gold"}}`, ifMatch(`"0"`))
	require.Equal(t, 422, r.status, "%s", r.body)
	change := `{"reason":"ticket 88: loyalty upgrade","changes":{"display_name":"Ann A.","attributes":{"tier":"gold","points":42}}}`
	r = e.patchUserProfile(usersKeySupport, ann, `"0"`, change)
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, `"1"`, r.header.Get("ETag"))
	assert.ElementsMatch(t, []any{"display_name", "attributes.tier", "attributes.points"}, r.json(t)["changed"])
	r = b.get("/v1/account")
	require.Equal(t, 200, r.status)
	acct := r.json(t)
	assert.Equal(t, "Ann A.", acct["display_name"])
	assert.Equal(t, "gold", acct["attributes"].(map[string]any)["tier"])

	for name, c := range map[string]struct {
		key, id, match, body string
		status               int
		code, field          string
	}{
		"no if-match":       {usersKeySupport, ann, "", change, 428, "precondition_required", ""},
		"stale":             {usersKeySupport, ann, `"0"`, change, 412, "precondition_failed", ""},
		"no reason":         {usersKeySupport, ann, `"1"`, `{"changes":{"display_name":"x"}}`, 422, "invalid_request", ""},
		"no changes":        {usersKeySupport, ann, `"1"`, `{"reason":"x"}`, 422, "invalid_request", "changes"},
		"unknown attr":      {usersKeySupport, ann, `"1"`, `{"reason":"x","changes":{"attributes":{"shoe_size":44}}}`, 422, "invalid_request", "attributes.shoe_size"},
		"value not allowed": {usersKeySupport, ann, `"1"`, `{"reason":"x","changes":{"attributes":{"tier":"platinum"}}}`, 422, "invalid_request", "attributes.tier"},
		"unknown user":      {usersKeySupport, "0190a0b0-0000-7000-8000-000000000000", "*", `{"reason":"x","changes":{"locale":"de"}}`, 404, "not_found", ""},
		"read-only key":     {"admin-key-reader-0123456789", ann, `"1"`, change, 401, "", ""},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.patchUserProfile(c.key, c.id, c.match, c.body)
			require.Equal(t, c.status, r.status, "%s", r.body)
			if c.code != "" {
				assert.Equal(t, c.code, r.errorCode(t))
			}
			if c.field != "" {
				assert.Contains(t, r.fields(t), c.field)
			}
		})
	}

	// Search by attribute: typed, exact.
	r = e.patchUserProfile(usersKeySupport, ben, "*", `{"reason":"x","changes":{"attributes":{"tier":"bronze","points":7,"newsletter":true}}}`)
	require.Equal(t, 200, r.status, "%s", r.body)
	for q, want := range map[string][]string{
		"attribute=tier&value=gold":       {ann},
		"attribute=points&value=7":        {ben},
		"attribute=newsletter&value=true": {ben},
		"attribute=tier&value=bronze":     {ben},
		"attribute=ratio&value=0.5":       {},
	} {
		t.Run(q, func(t *testing.T) {
			r := e.do("GET", "/v1/admin/users?"+q, nil, asAdmin(usersKeySupport))
			require.Equal(t, 200, r.status, "%s", r.body)
			got := []string{}
			for _, u := range r.json(t)["users"].([]any) {
				got = append(got, u.(map[string]any)["id"].(string))
			}
			assert.ElementsMatch(t, want, got)
		})
	}
	for q, field := range map[string]string{
		"attribute=shoe_size&value=1":   "attribute",
		"attribute=points&value=many":   "value",
		"attribute=points":              "value",
		"value=" + url.QueryEscape("x"): "",
	} {
		t.Run("refused "+q, func(t *testing.T) {
			r := e.do("GET", "/v1/admin/users?"+q, nil, asAdmin(usersKeySupport))
			require.Equal(t, 422, r.status, "%s", r.body)
			if field != "" {
				assert.Contains(t, r.fields(t), field)
			}
		})
	}
}

// The profile change and the richer view conform to the OpenAPI document.
func TestAdminUserProfileOpenAPI(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e, ids := usersEnv(t)
	ann := ids["ann@example.com"]
	e.browser().signIn("ann@example.com")
	key := map[string]string{"Authorization": "Bearer " + usersKeySupport, "Content-Type": "application/json"}
	for _, x := range []exchange{
		{"view", "GET", "/v1/admin/users/" + ann, "", key, 200, true},
		{"search by attribute", "GET", "/v1/admin/users?attribute=tier&value=gold", "", key, 200, true},
		{"change", "PATCH", "/v1/admin/users/" + ann + "/profile", `{"reason":"x","changes":{"attributes":{"tier":"gold"}}}`,
			map[string]string{"Authorization": "Bearer " + usersKeySupport, "Content-Type": "application/json", "If-Match": `"0"`}, 200, true},
		{"invalid", "PATCH", "/v1/admin/users/" + ann + "/profile", `{"reason":"x","changes":{"attributes":{"tier":"tin"}}}`,
			map[string]string{"Authorization": "Bearer " + usersKeySupport, "Content-Type": "application/json", "If-Match": "*"}, 422, false},
	} {
		t.Run(x.name, func(t *testing.T) {
			var opts []reqOpt
			for k, v := range x.header {
				opts = append(opts, withHeader(k, v))
			}
			var r response
			if x.body == "" {
				r = e.do(x.method, x.path, nil, opts...)
			} else {
				r = e.do(x.method, x.path, strings.NewReader(x.body), opts...)
			}
			require.Equal(t, x.status, r.status, "%s", r.body)
			validate(t, router, x, r)
		})
	}
}

// TestAdminResetMFAEnrolment: after support resets a customer's factors,
// the next sign-in proves the inbox, then must enrol a new app before a
// session is issued; the answers conform to the OpenAPI document.
func TestAdminResetMFAEnrolment(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e, ids := usersEnv(t)
	const email = "ann@example.com"
	owner := e.browser()
	owner.signIn(email)
	r := owner.post("/v1/totp", nil)
	require.Equal(t, 200, r.status, "%s", r.body)
	var app struct {
		FactorID string `json:"factor_id"`
		Secret   string `json:"secret"`
	}
	require.NoError(t, jsonUnmarshal(r.body, &app))
	e.auth.track(app.Secret)
	r = owner.post("/v1/totp/confirm", map[string]any{"factor_id": app.FactorID, "code": totpAt(t, app.Secret, time.Now())})
	require.Equal(t, 200, r.status, "%s", r.body)

	r = e.userAction(usersKeySupport, ids[email], "reset-mfa", `{"reason":"ticket 9: lost phone"}`)
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, true, r.json(t)["enrolment_required"])

	b := e.browser()
	r = b.post("/v1/login", map[string]any{"identifier": email, "password": userPassword})
	require.Equal(t, 200, r.status, "%s", r.body)
	flow := r.json(t)["flow_id"].(string)
	r = b.post("/v1/login/email-code", map[string]any{"flow_id": flow})
	require.Equal(t, 200, r.status, "%s", r.body)
	r = b.post("/v1/login/email-code/verify", map[string]any{"flow_id": flow, "code": e.auth.code(t, email)})
	require.Equal(t, 200, r.status, "%s", r.body)
	m := r.json(t)
	require.Equal(t, "mfa_enrolment_required", m["status"], "%s", r.body)
	assert.Nil(t, m["session"])
	flow = m["flow_id"].(string)

	x := exchange{"begin", "POST", "/v1/login/mfa/totp", `{"flow_id":"` + flow + `"}`, nil, 200, true}
	r = b.post(x.path, x.body)
	require.Equal(t, 200, r.status, "%s", r.body)
	validate(t, router, x, r)
	var en struct {
		FactorID string `json:"factor_id"`
		Secret   string `json:"secret"`
	}
	require.NoError(t, jsonUnmarshal(r.body, &en))
	e.auth.track(en.Secret)
	r = b.post("/v1/login/mfa/totp/confirm", map[string]any{"flow_id": flow, "factor_id": en.FactorID, "code": "000000"})
	require.Equal(t, 401, r.status, "%s", r.body)
	assert.Equal(t, "invalid_code", r.errorCode(t))
	x = exchange{"confirm", "POST", "/v1/login/mfa/totp/confirm",
		`{"flow_id":"` + flow + `","factor_id":"` + en.FactorID + `","code":"` + totpAt(t, en.Secret, time.Now()) + `"}`, nil, 200, true}
	r = b.post(x.path, x.body)
	require.Equal(t, 200, r.status, "%s", r.body)
	validate(t, router, x, r)
	m = r.json(t)
	assert.Equal(t, "authenticated", m["status"])
	assert.Len(t, m["recovery_codes"], 10)
	assert.EqualValues(t, 2, m["session"].(map[string]any)["aal"])
	assert.Equal(t, 200, b.get("/v1/session").status)
}
