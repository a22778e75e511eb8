package httpapi_test

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// withConsents declares the purposes and preferences of the consent tests:
// two required purposes (terms at version 3) and two optional ones.
func withConsents(c *authn.Config) {
	c.Account.Purposes = []authn.PurposeSpec{
		{Name: "terms", Required: true, Versions: []authn.PurposeVersion{
			{Version: 1, URL: "https://example.com/terms/1"}, {Version: 3, URL: "https://example.com/terms/3"}, {Version: 2, URL: "https://example.com/terms/2"}}},
		{Name: "privacy_policy", Required: true, Versions: []authn.PurposeVersion{{Version: 2, URL: "https://example.com/privacy/2"}}},
		{Name: "marketing_email", Description: "News and offers by mail", Versions: []authn.PurposeVersion{{Version: 1, Text: "We may mail you offers."}}},
		{Name: "analytics", Versions: []authn.PurposeVersion{{Version: 1, Text: "We measure how the app is used."}}},
	}
	c.Account.Preferences = authn.PreferenceSpec{Channels: []string{"email", "sms", "push"}, Topics: []string{"newsletter", "product_updates"},
		Languages: []string{"en", "de-CH", "fr"}}
}

type consentList struct {
	Purposes []struct {
		Purpose        string `json:"purpose"`
		Required       bool   `json:"required"`
		CurrentVersion int    `json:"current_version"`
		URL            string `json:"url"`
		Granted        bool   `json:"granted"`
		GrantedVersion int    `json:"granted_version"`
		Pending        bool   `json:"pending"`
	} `json:"purposes"`
	History []struct {
		Purpose   string `json:"purpose"`
		Version   int    `json:"version"`
		Action    string `json:"action"`
		Source    string `json:"source"`
		IP        string `json:"ip"`
		UserAgent string `json:"user_agent"`
	} `json:"history"`
}

func (r response) consents(t *testing.T) consentList {
	t.Helper()
	var out consentList
	require.NoError(t, json.Unmarshal(r.body, &out), "body: %s", r.body)
	return out
}

// allRequired is what a client sends after showing the required purposes
// of withConsents.
var allRequired = []map[string]any{{"purpose": "terms", "version": 3}, {"purpose": "privacy_policy", "version": 2}}

// TestAccountConsents: the caller reads every purpose's state and the
// ledger; grants (once per version) and withdrawals are recorded with
// their source and client, appear newest first and in the activity
// history; invalid grants are refused as a whole with a 422 naming each
// bad choice.
func TestAccountConsents(t *testing.T) {
	t.Parallel()
	e := newEnvAuthn(t, httpapi.Config{}, "", withConsents)
	b := e.browser()
	const email = "consents@example.com"
	r := b.get("/v1/account/consents")
	require.Equal(t, http.StatusUnauthorized, r.status, "a session is required: %s", r.body)
	b.registerWith(email, allRequired)
	b.signIn(email)

	r = b.get("/v1/account/consents")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	cl := r.consents(t)
	require.Len(t, cl.Purposes, 4)
	assert.Equal(t, "terms", cl.Purposes[0].Purpose)
	assert.Equal(t, 3, cl.Purposes[0].CurrentVersion, "the highest version is the current one")
	assert.Equal(t, "https://example.com/terms/3", cl.Purposes[0].URL)
	assert.True(t, cl.Purposes[0].Granted, "granted at registration")
	assert.False(t, cl.Purposes[0].Pending)
	assert.False(t, cl.Purposes[2].Granted)
	require.Len(t, cl.History, 2)
	assert.Equal(t, "registration", cl.History[0].Source)

	r = b.post("/v1/account/consents", map[string]any{"consents": []map[string]any{{"purpose": "marketing_email", "version": 1},
		{"purpose": "terms", "version": 3}}})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	cl = r.consents(t)
	assert.True(t, cl.Purposes[2].Granted)
	assert.Equal(t, 1, cl.Purposes[2].GrantedVersion)
	require.Len(t, cl.History, 3, "terms was granted at version 3 already: not recorded again")
	h := cl.History[0]
	assert.Equal(t, "marketing_email", h.Purpose)
	assert.Equal(t, "grant", h.Action)
	assert.Equal(t, "account", h.Source)
	assert.Equal(t, "127.0.0.1", h.IP)
	assert.Equal(t, browserUA, h.UserAgent)

	t.Run("invalid as a whole", func(t *testing.T) {
		r := b.post("/v1/account/consents", map[string]any{"consents": []map[string]any{{"purpose": "analytics", "version": 1},
			{"purpose": "terms", "version": 2}, {"purpose": "cookies", "version": 1}, {"purpose": "analytics", "version": 1}}})
		require.Equal(t, http.StatusUnprocessableEntity, r.status, "body: %s", r.body)
		assert.ElementsMatch(t, []string{"consents[1].version", "consents[2].purpose", "consents[3].purpose"}, r.fields(t))
		for _, body := range []string{`{}`, `{"consents":[]}`, `{"consents":[{"purpose":"analytics"}],"x":1}`} {
			r = b.post("/v1/account/consents", body)
			require.Equal(t, http.StatusUnprocessableEntity, r.status, "%s: %s", body, r.body)
			assert.NotEmpty(t, r.fields(t))
		}
		r = b.post("/v1/account/consents", `{"consents":`)
		assert.Equal(t, http.StatusBadRequest, r.status, "body: %s", r.body)
		r = b.post("/v1/account/consents", `{}`, withHeader("Content-Type", "text/plain"))
		assert.Equal(t, http.StatusUnsupportedMediaType, r.status, "body: %s", r.body)
		r = b.post("/v1/account/consents", `{}`, withHeader("Sec-Fetch-Site", "cross-site"))
		assert.Equal(t, http.StatusForbidden, r.status, "body: %s", r.body)
		assert.Len(t, b.get("/v1/account/consents").consents(t).History, 3, "nothing recorded")
	})
	t.Run("withdraw", func(t *testing.T) {
		r := b.call(http.MethodDelete, "/v1/account/consents/marketing_email", nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		cl := r.consents(t)
		assert.False(t, cl.Purposes[2].Granted)
		require.Len(t, cl.History, 4)
		assert.Equal(t, "withdraw", cl.History[0].Action)
		assert.Equal(t, 1, cl.History[0].Version, "the version that had been granted")
		r = b.call(http.MethodDelete, "/v1/account/consents/marketing_email", nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.Len(t, r.consents(t).History, 4, "not granted: nothing to record")
		r = b.call(http.MethodDelete, "/v1/account/consents/cookies", nil)
		assert.Equal(t, http.StatusNotFound, r.status, "body: %s", r.body)
		r = b.call(http.MethodDelete, "/v1/account/consents/analytics", nil, withHeader("Sec-Fetch-Site", "cross-site"))
		assert.Equal(t, http.StatusForbidden, r.status, "body: %s", r.body)
	})
	t.Run("in the activity history", func(t *testing.T) {
		var out struct {
			Activity []struct {
				Kind string `json:"kind"`
			} `json:"activity"`
		}
		r := b.get("/v1/account/activity")
		require.NoError(t, json.Unmarshal(r.body, &out))
		var kinds []string
		for _, a := range out.Activity {
			kinds = append(kinds, a.Kind)
		}
		assert.Equal(t, []string{"consent_withdrawn", "consent_granted", "login_succeeded", "consent_granted", "consent_granted"}, kinds)
	})
}

// TestAccountPreferences: GET answers the preferences and what may be
// chosen, with an ETag; PATCH is a merge patch against that version (428
// without If-Match, 412 when stale: of concurrent writers of one version
// exactly one wins) and refuses values the configuration does not offer
// with a 422 naming each.
func TestAccountPreferences(t *testing.T) {
	t.Parallel()
	e := newEnvAuthn(t, httpapi.Config{}, "", withConsents)
	b := e.browser()
	const email = "preferences@example.com"
	b.registerWith(email, allRequired)
	b.signIn(email)

	r := b.get("/v1/account/preferences")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, `"0"`, r.header.Get("ETag"))
	m := r.json(t)
	assert.Equal(t, []any{}, m["channels"])
	assert.Equal(t, "", m["language"])
	assert.Equal(t, map[string]any{"channels": []any{"email", "sms", "push"}, "topics": []any{"newsletter", "product_updates"},
		"languages": []any{"en", "de-CH", "fr"}}, m["available"])

	patch := map[string]any{"channels": []string{"sms", "email", "sms"}, "language": "de-CH"}
	r = b.call(http.MethodPatch, "/v1/account/preferences", patch, withHeader("Content-Type", "application/json"))
	require.Equal(t, http.StatusPreconditionRequired, r.status, "body: %s", r.body)
	r = b.call(http.MethodPatch, "/v1/account/preferences", patch, ifMatch(`"0"`))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, `"1"`, r.header.Get("ETag"))
	m = r.json(t)
	assert.Equal(t, []any{"email", "sms"}, m["channels"], "sorted, once each")
	assert.Equal(t, []any{}, m["topics"], "absent: unchanged")
	assert.Equal(t, "de-CH", m["language"])

	r = b.call(http.MethodPatch, "/v1/account/preferences", patch, ifMatch(`"0"`))
	require.Equal(t, http.StatusPreconditionFailed, r.status, "body: %s", r.body)
	assert.Equal(t, "precondition_failed", r.errorCode(t))

	r = b.call(http.MethodPatch, "/v1/account/preferences", map[string]any{"channels": []string{"fax"}, "topics": []string{"newsletter", "gossip"},
		"language": "xx"}, ifMatch(`"1"`))
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "body: %s", r.body)
	assert.ElementsMatch(t, []string{"channels[0]", "topics[1]", "language"}, r.fields(t))
	r = b.call(http.MethodPatch, "/v1/account/preferences", `{"colour":"red"}`, ifMatch(`"1"`))
	require.Equal(t, http.StatusUnprocessableEntity, r.status, "body: %s", r.body)
	assert.Equal(t, []string{"colour"}, r.fields(t))

	r = b.call(http.MethodPatch, "/v1/account/preferences", `{"language":null,"channels":["email","sms"]}`, ifMatch(`"1"`))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, `"2"`, r.header.Get("ETag"), "the language cleared")
	r = b.call(http.MethodPatch, "/v1/account/preferences", `{"channels":["sms","email"]}`, ifMatch("*"))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, `"2"`, r.header.Get("ETag"), "a patch that changes nothing writes nothing")

	t.Run("concurrent writers", func(t *testing.T) {
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := b.call(http.MethodPatch, "/v1/account/preferences", map[string]any{"topics": []string{"newsletter"}, "channels": []string{[]string{"email", "sms", "push"}[i%3]}},
					ifMatch(`"2"`))
				statuses[i] = r.status
			})
		}
		wg.Wait()
		won := 0
		for _, s := range statuses {
			switch s {
			case http.StatusOK:
				won++
			case http.StatusPreconditionFailed:
			default:
				t.Errorf("status %d", s)
			}
		}
		assert.Equal(t, 1, won, "one writer per version: %v", statuses)
		assert.Equal(t, `"3"`, b.get("/v1/account/preferences").header.Get("ETag"))
	})
}

// Real answers of the consent and preference routes validate against the
// document, errors included.
func TestOpenAPIConsentsConform(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e := newEnvAuthn(t, httpapi.Config{BodyLimit: 8 << 10}, "", withConsents)
	b := e.browser()
	check := func(name, method, path, body string, status int, valid bool, opts ...reqOpt) {
		t.Helper()
		var r response
		if body == "" {
			r = b.call(method, path, nil, opts...)
		} else {
			r = b.call(method, path, body, opts...)
		}
		t.Run(name, func(t *testing.T) {
			require.Equal(t, status, r.status, "body: %.300s", r.body)
			validate(t, router, exchange{name: name, method: method, path: path, body: body, status: status, validRequest: valid}, r)
		})
	}
	const email = "doc-consents@example.com"
	check("register without consents", "POST", "/v1/register", `{"email":"`+email+`","password":"`+userPassword+`"}`, 422, true)
	check("consents signed out", "GET", "/v1/account/consents", "", 401, true)
	b.registerWith(email, allRequired)
	b.signIn(email)
	check("consents", "GET", "/v1/account/consents", "", 200, true)
	check("grant", "POST", "/v1/account/consents", `{"consents":[{"purpose":"analytics","version":1}]}`, 200, true)
	check("grant outdated", "POST", "/v1/account/consents", `{"consents":[{"purpose":"terms","version":1}]}`, 422, true)
	check("grant malformed", "POST", "/v1/account/consents", `{"consents":`, 400, false)
	check("withdraw", "DELETE", "/v1/account/consents/analytics", "", 200, true)
	check("withdraw unknown", "DELETE", "/v1/account/consents/cookies", "", 404, true)
	check("preferences", "GET", "/v1/account/preferences", "", 200, true)
	check("preferences patch", "PATCH", "/v1/account/preferences", `{"channels":["email"],"topics":["newsletter"],"language":"fr"}`, 200, false, ifMatch(`"0"`))
	check("preferences stale", "PATCH", "/v1/account/preferences", `{"channels":[]}`, 412, false, ifMatch(`"0"`))
	check("preferences invalid", "PATCH", "/v1/account/preferences", `{"channels":["fax"]}`, 422, false, ifMatch(`"1"`))
	check("preferences no If-Match", "PATCH", "/v1/account/preferences", `{}`, 428, false, withHeader("Content-Type", "application/json"))
	check("preferences changed", "GET", "/v1/account/preferences", "", 200, true)
	check("withdraw terms", "DELETE", "/v1/account/consents/terms", "", 200, true)
	var flow struct {
		FlowID string `json:"flow_id"`
	}
	b2 := e.browser()
	r := b2.post("/v1/login", map[string]any{"identifier": email, "password": userPassword})
	require.NoError(t, json.Unmarshal(r.body, &flow))
	t.Run("login consent_required", func(t *testing.T) {
		require.Equal(t, 200, r.status)
		validate(t, router, exchange{name: "login consent_required", method: "POST", path: "/v1/login",
			body: `{"identifier":"` + email + `","password":"` + userPassword + `"}`, status: 200, validRequest: true}, r)
	})
	b = b2
	check("accept invalid", "POST", "/v1/login/consent", `{"flow_id":"`+flow.FlowID+`","consents":[]}`, 422, true)
	check("accept", "POST", "/v1/login/consent", `{"flow_id":"`+flow.FlowID+`","consents":[{"purpose":"terms","version":3}]}`, 200, true)
	check("accept again", "POST", "/v1/login/consent", `{"flow_id":"`+flow.FlowID+`","consents":[{"purpose":"terms","version":3}]}`, 410, true)
}

// TestLoginConsentRequired: when the account's acceptance of a required
// purpose is older than its current version, a sign-in whose password
// passed answers consent_required with what to accept and no session;
// POST /v1/login/consent with the current versions continues it to a
// session (once: a concurrent or replayed accept is flow_expired), and
// the next sign-in goes straight through.
func TestLoginConsentRequired(t *testing.T) {
	t.Parallel()
	e := newEnvAuthn(t, httpapi.Config{}, "", withConsents)
	b := e.browser()
	const email = "login-consent@example.com"
	b.registerWith(email, allRequired)
	u, err := e.auth.store.UserByEmail(t.Context(), email)
	require.NoError(t, err)
	// The user had accepted the terms only at version 2 (before version 3
	// was published).
	require.NoError(t, e.auth.store.AppendConsents(t.Context(), []authn.ConsentRecord{{ID: uuid.Must(uuid.NewV7()).String(),
		UserID: u.ID, Purpose: "terms", Version: 2, Action: authn.ConsentGrant, At: time.Now(), Source: authn.ConsentSourceAccount}}))

	r := b.post("/v1/login", map[string]any{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var ans struct {
		Status   string `json:"status"`
		FlowID   string `json:"flow_id"`
		Session  any    `json:"session"`
		Consents []struct {
			Purpose        string `json:"purpose"`
			CurrentVersion int    `json:"current_version"`
			GrantedVersion int    `json:"granted_version"`
			Outdated       bool   `json:"outdated"`
			URL            string `json:"url"`
		} `json:"consents"`
	}
	require.NoError(t, json.Unmarshal(r.body, &ans))
	require.Equal(t, "consent_required", ans.Status)
	assert.Nil(t, ans.Session)
	assert.Empty(t, b.cookie, "no session yet")
	require.Len(t, ans.Consents, 1)
	assert.Equal(t, "terms", ans.Consents[0].Purpose)
	assert.Equal(t, 3, ans.Consents[0].CurrentVersion)
	assert.Equal(t, 2, ans.Consents[0].GrantedVersion)
	assert.True(t, ans.Consents[0].Outdated)
	assert.Equal(t, "https://example.com/terms/3", ans.Consents[0].URL)

	for _, tc := range []struct {
		body  any
		field string
	}{
		{map[string]any{"flow_id": ans.FlowID, "consents": []any{}}, "consents"},
		{map[string]any{"flow_id": ans.FlowID}, "consents"},
		{map[string]any{"flow_id": ans.FlowID, "consents": []map[string]any{{"purpose": "terms", "version": 2}}}, "consents[0].version"},
	} {
		r := b.post("/v1/login/consent", tc.body)
		require.Equal(t, http.StatusUnprocessableEntity, r.status, "body: %s", r.body)
		assert.Equal(t, []string{tc.field}, r.fields(t))
	}
	r = b.post("/v1/login/password", map[string]any{"flow_id": ans.FlowID, "password": userPassword})
	assert.Equal(t, http.StatusConflict, r.status, "the flow waits for consents: %s", r.body)

	// Concurrent accepts of the flow: one session.
	const n = 4
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := e.browser().post("/v1/login/consent", map[string]any{"flow_id": ans.FlowID,
				"consents": []map[string]any{{"purpose": "terms", "version": 3}, {"purpose": "analytics", "version": 1}}})
			statuses[i] = r.status
			if r.status == http.StatusOK {
				assert.Equal(t, "authenticated", r.json(t)["status"])
			}
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
	assert.Equal(t, 1, won, "statuses %v", statuses)

	b.signIn(email)
	cl := b.get("/v1/account/consents").consents(t)
	assert.False(t, cl.Purposes[0].Pending)
	assert.Equal(t, 3, cl.Purposes[0].GrantedVersion)
	var sources []string
	for _, h := range cl.History {
		if h.Purpose == "terms" {
			sources = append(sources, h.Source)
		}
	}
	assert.Equal(t, "sign_in", sources[0], "the newest terms entry: %v", sources)
}

// TestRegisterConsents: with declared purposes, a registration without a
// required one (or with an outdated version) is a 422 naming it, for a
// new and a taken address alike.
func TestRegisterConsents(t *testing.T) {
	t.Parallel()
	e := newEnvAuthn(t, httpapi.Config{}, "", withConsents)
	b := e.browser()
	b.registerWith("taken-consent@example.com", allRequired)
	for _, email := range []string{"new-consent@example.com", "taken-consent@example.com"} {
		for _, tc := range []struct {
			consents any
			fields   []string
		}{
			{nil, []string{"consents"}},
			{[]map[string]any{{"purpose": "terms", "version": 3}}, []string{"consents"}},
			{[]map[string]any{{"purpose": "terms", "version": 1}, {"purpose": "privacy_policy", "version": 2}}, []string{"consents[0].version"}},
			{"terms", []string{"consents"}},
		} {
			body := map[string]any{"email": email, "password": userPassword}
			if tc.consents != nil {
				body["consents"] = tc.consents
			}
			r := e.browser().post("/v1/register", body)
			require.Equal(t, http.StatusUnprocessableEntity, r.status, "body: %s", r.body)
			assert.Equal(t, tc.fields, r.fields(t))
		}
		r := e.browser().post("/v1/register", map[string]any{"email": email, "password": userPassword, "consents": allRequired})
		assert.Equal(t, http.StatusAccepted, r.status, "body: %s", r.body)
	}
}
