package httpapi_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

const (
	usersKeySupport = "admin-key-support-0123456789"
	usersKeyAdmin   = "admin-key-useradm-0123456789"
)

// usersEnv is a server with a helpdesk key (users:support) and an
// administrator's (users:admin), and two registered accounts.
func usersEnv(t *testing.T) (*env, map[string]string) {
	t.Helper()
	e := newEnv(t, httpapi.Config{AdminKeys: []httpapi.AdminKey{
		{Name: "helpdesk-1", Key: usersKeySupport, Scopes: []string{"users:support"}},
		{Name: "alice", Key: usersKeyAdmin, Scopes: []string{"users:admin"}},
	}})
	ids := map[string]string{}
	for _, email := range []string{"ann@example.com", "ben@example.com"} {
		e.browser().register(email)
		r := e.do("GET", "/v1/admin/users?email="+url.QueryEscape(email), nil, asAdmin(usersKeySupport))
		require.Equal(t, 200, r.status, "%s", r.body)
		users := r.json(t)["users"].([]any)
		require.Len(t, users, 1)
		ids[email] = users[0].(map[string]any)["id"].(string)
	}
	return e, ids
}

func (e *env) userAction(key, id, action, body string) response {
	e.t.Helper()
	return e.do("POST", "/v1/admin/users/"+id+"/"+action, strings.NewReader(body), asAdmin(key),
		withHeader("Content-Type", "application/json"))
}

func TestAdminUsersAPI(t *testing.T) {
	t.Parallel()
	e, ids := usersEnv(t)
	ann := ids["ann@example.com"]
	b := e.browser()
	b.signIn("ann@example.com")

	// The view: the account, its session, its sign-in.
	r := e.do("GET", "/v1/admin/users/"+ann, nil, asAdmin(usersKeySupport))
	require.Equal(t, 200, r.status, "%s", r.body)
	v := r.json(t)
	assert.Equal(t, "active", v["user"].(map[string]any)["status"])
	assert.Equal(t, "argon2id", v["password"].(map[string]any)["scheme"])
	assert.Len(t, v["sessions"], 1)
	assert.NotEmpty(t, v["recent_activity"])
	assert.NotContains(t, string(r.body), "$argon2id$", "never the hash")

	// The helpdesk revokes the sessions: the browser is signed out.
	r = e.userAction(usersKeySupport, ann, "revoke-sessions", `{"reason":"ticket 4711: lost phone"}`)
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.EqualValues(t, 1, r.json(t)["sessions_revoked"])
	assert.Equal(t, http.StatusUnauthorized, b.get("/v1/session").status)

	// Disabling is the administrator's, not the helpdesk's.
	r = e.userAction(usersKeySupport, ann, "disable", `{"reason":"fraud"}`)
	require.Equal(t, 403, r.status)
	assert.Contains(t, string(r.body), "users:admin")
	r = e.userAction(usersKeyAdmin, ann, "disable", `{"reason":"fraud"}`)
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, true, r.json(t)["changed"])
	r = e.do("GET", "/v1/admin/users?status=disabled", nil, asAdmin(usersKeySupport))
	require.Equal(t, 200, r.status)
	assert.Contains(t, string(r.body), ann)
	assert.NotContains(t, string(r.body), ids["ben@example.com"])

	// Refusals.
	for name, c := range map[string]struct {
		key, id, action, body, ctype string
		status                       int
		code                         string
	}{
		"no reason":        {usersKeyAdmin, ann, "enable", `{}`, "application/json", 422, "invalid_request"},
		"blank reason":     {usersKeyAdmin, ann, "enable", `{"reason":"  "}`, "application/json", 422, "invalid_request"},
		"unknown field":    {usersKeyAdmin, ann, "enable", `{"reason":"x","force":true}`, "application/json", 422, "invalid_request"},
		"wrong type":       {usersKeyAdmin, ann, "enable", `{"reason":5}`, "application/json", 422, "invalid_request"},
		"not json":         {usersKeyAdmin, ann, "enable", `{"reason":`, "application/json", 400, "malformed_json"},
		"trailing data":    {usersKeyAdmin, ann, "enable", `{"reason":"x"} {}`, "application/json", 400, "malformed_json"},
		"form":             {usersKeyAdmin, ann, "enable", `reason=x`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		"unknown user":     {usersKeyAdmin, "0190a0b0-0000-7000-8000-000000000000", "enable", `{"reason":"x"}`, "application/json", 404, "not_found"},
		"already verified": {usersKeySupport, ann, "resend-verification", `{"reason":"x"}`, "application/json", 409, "already_verified"},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do("POST", "/v1/admin/users/"+c.id+"/"+c.action, strings.NewReader(c.body), asAdmin(c.key), withHeader("Content-Type", c.ctype))
			require.Equal(t, c.status, r.status, "%s", r.body)
			assert.Equal(t, c.code, r.errorCode(t))
		})
	}
	r = e.do("GET", "/v1/admin/users/"+ann, nil, asAdmin(usersKeySupport))
	assert.Equal(t, "disabled", r.json(t)["user"].(map[string]any)["status"], "refused requests changed nothing")

	// Delete: gone, and the address can register again.
	r = e.userAction(usersKeyAdmin, ann, "delete", `{"reason":"GDPR request 17"}`)
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, 404, e.do("GET", "/v1/admin/users/"+ann, nil, asAdmin(usersKeySupport)).status)
	e.browser().register("ann@example.com")
}

func TestAdminUsersSearchPages(t *testing.T) {
	t.Parallel()
	e, _ := usersEnv(t)
	for i := range 3 {
		e.browser().register(fmt.Sprintf("cat%d@example.com", i))
	}
	var seen []string
	path := "/v1/admin/users?limit=2"
	for range 5 {
		r := e.do("GET", path, nil, asAdmin(usersKeySupport))
		require.Equal(t, 200, r.status, "%s", r.body)
		m := r.json(t)
		for _, u := range m["users"].([]any) {
			seen = append(seen, u.(map[string]any)["email"].(string))
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			break
		}
		path = "/v1/admin/users?limit=2&cursor=" + url.QueryEscape(next)
	}
	assert.Equal(t, []string{"ann@example.com", "ben@example.com", "cat0@example.com", "cat1@example.com", "cat2@example.com"}, seen)

	for name, q := range map[string]string{
		"limit":   "limit=0",
		"cursor":  "cursor=!!",
		"status":  "status=gone",
		"created": "created_from=yesterday",
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do("GET", "/v1/admin/users?"+q, nil, asAdmin(usersKeySupport))
			require.Equal(t, 422, r.status, "%s", r.body)
			assert.Equal(t, name, r.fields(t)[0][:len(name)])
		})
	}
}

// The user routes' answers conform to the OpenAPI document.
func TestAdminUsersOpenAPI(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e, ids := usersEnv(t)
	ann, ben := ids["ann@example.com"], ids["ben@example.com"]
	e.browser().signIn("ben@example.com")
	key := map[string]string{"Authorization": "Bearer " + usersKeyAdmin}
	reason := `{"reason":"ticket 1"}`
	exchanges := []exchange{
		{"search", "GET", "/v1/admin/users?limit=1", "", key, 200, true},
		{"search filtered", "GET", "/v1/admin/users?status=active&email=ann&created_from=2020-01-01T00:00:00Z", "", key, 200, true},
		{"search invalid", "GET", "/v1/admin/users?limit=500", "", key, 422, false},
		{"view", "GET", "/v1/admin/users/" + ben, "", key, 200, true},
		{"view unknown", "GET", "/v1/admin/users/nobody", "", key, 404, true},
		{"unauthorized", "GET", "/v1/admin/users", "", map[string]string{"Authorization": "Bearer wrong"}, 401, false},
		{"forbidden", "POST", "/v1/admin/users/" + ann + "/disable", reason, map[string]string{"Authorization": "Bearer " + usersKeySupport}, 403, true},
		{"no reason", "POST", "/v1/admin/users/" + ann + "/unlock", `{}`, key, 422, false},
		{"malformed", "POST", "/v1/admin/users/" + ann + "/unlock", `{`, key, 400, false},
		{"already verified", "POST", "/v1/admin/users/" + ann + "/resend-verification", reason, key, 409, true},
	}
	for _, a := range []string{"unlock", "reset-mfa", "revoke-sessions", "password-reset", "mark-verified", "disable", "enable", "delete"} {
		exchanges = append(exchanges, exchange{a, "POST", "/v1/admin/users/" + ben + "/" + a, reason, key, 200, true})
	}
	for _, x := range exchanges {
		t.Run(x.name, func(t *testing.T) {
			var opts []reqOpt
			for k, v := range x.header {
				opts = append(opts, withHeader(k, v))
			}
			opts = append(opts, withHeader("Content-Type", "application/json"))
			var body *strings.Reader
			if x.body != "" {
				body = strings.NewReader(x.body)
			}
			var resp response
			if body == nil {
				resp = e.do(x.method, x.path, nil, opts...)
			} else {
				resp = e.do(x.method, x.path, body, opts...)
			}
			require.Equal(t, x.status, resp.status, "%s", resp.body)
			validate(t, router, x, resp)
		})
	}
}

// The import route: a batch with good and bad lines answers one result
// per line, conforming to the document; the users:support key may not.
func TestAdminUsersImportRoute(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e, _ := usersEnv(t)
	body := `{"reason":"migration","first_line":10,"users":[` +
		`{"external_id":"a|1","email":"imp@example.com","password_hash":"$2a$05$bvIG6Nmid91Mu9RcmmWZfO5HJIMCT8riNW0hEp8f6/FuA2/mHZFpe"},` +
		`{"external_id":"a|2"},` +
		`{"external_id":"a|3","email":"ann@example.com"},` +
		`"not an object"]}`
	key := map[string]string{"Authorization": "Bearer " + usersKeyAdmin}
	x := exchange{"import", "POST", "/v1/admin/users/import", body, key, 200, true}
	r := e.do("POST", x.path, strings.NewReader(body), asAdmin(usersKeyAdmin), withHeader("Content-Type", "application/json"))
	require.Equal(t, 200, r.status, "%s", r.body)
	validate(t, router, x, r)
	var got struct {
		Results []struct {
			Line   int
			Status string
			Reason string
		}
	}
	require.NoError(t, jsonUnmarshal(r.body, &got))
	require.Len(t, got.Results, 4)
	for i, want := range []string{"created", "invalid", "conflict", "invalid"} {
		assert.Equal(t, 10+i, got.Results[i].Line)
		assert.Equal(t, want, got.Results[i].Status, "line %d: %s", 10+i, got.Results[i].Reason)
	}
	r = e.do("GET", "/v1/admin/users?email=imp@", nil, asAdmin(usersKeySupport))
	assert.Contains(t, string(r.body), "imp@example.com")

	for _, c := range []exchange{
		{"no users", "POST", "/v1/admin/users/import", `{"reason":"x","users":[]}`, key, 422, false},
		{"forbidden", "POST", "/v1/admin/users/import", body, map[string]string{"Authorization": "Bearer " + usersKeySupport}, 403, true},
	} {
		r := e.do(c.method, c.path, strings.NewReader(c.body), withHeader("Authorization", c.header["Authorization"]), withHeader("Content-Type", "application/json"))
		require.Equal(t, c.status, r.status, "%s: %s", c.name, r.body)
		validate(t, router, c, r)
	}
}
