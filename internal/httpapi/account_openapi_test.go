package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// Real answers of the self-service account API validate against the
// document, errors included. (validate sets no If-Match, so PATCH
// requests are checked by the answers only.)
func TestOpenAPIAccountResponsesConform(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e := newEnv(t, httpapi.Config{BodyLimit: 8 << 10})
	b := e.browser()

	check := func(name, method, path string, body any, status int, valid bool, opts ...reqOpt) response {
		t.Helper()
		var r response
		raw := ""
		if body != nil {
			if s, ok := body.(string); ok {
				raw = s
			} else {
				j, _ := json.Marshal(body)
				raw = string(j)
			}
			r = b.call(method, path, raw, opts...)
		} else {
			r = b.call(method, path, nil, opts...)
		}
		t.Run(name, func(t *testing.T) {
			require.Equal(t, status, r.status, "body: %.300s", r.body)
			validate(t, router, exchange{name: name, method: method, path: path, body: raw, status: status, validRequest: valid}, r)
		})
		return r
	}
	const email = "doc-account@example.com"
	check("account signed out", "GET", "/v1/account", nil, 401, true)
	b.register(email)
	b.signIn(email)
	check("account", "GET", "/v1/account", nil, 200, true)
	patch := map[string]any{"display_name": "Doc", "locale": "en-GB", "attributes": map[string]any{"points": 3, "newsletter": false}}
	check("patch without If-Match", "PATCH", "/v1/account", patch, 428, false, withHeader("Content-Type", "application/json"))
	check("patch", "PATCH", "/v1/account", patch, 200, false, ifMatch(`"0"`))
	check("patch stale", "PATCH", "/v1/account", patch, 412, false, ifMatch(`"0"`))
	check("patch invalid", "PATCH", "/v1/account", map[string]any{"attributes": map[string]any{"tier": "gold"}}, 422, false, ifMatch(`"1"`))
	check("patch malformed", "PATCH", "/v1/account", `{"x":`, 400, false, ifMatch(`"1"`))
	check("patch text", "PATCH", "/v1/account", `{}`, 415, false, ifMatch(`"1"`), withHeader("Content-Type", "text/plain"))
	check("account changed", "GET", "/v1/account", nil, 200, true)
	check("security page", "GET", "/account/security", nil, 200, true)
}

// Real answers of the devices and activity routes validate against the
// document.
func TestOpenAPIDevicesActivityConform(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e := newEnv(t, httpapi.Config{BodyLimit: 8 << 10})
	b := e.browser()
	check := func(name, method, path, body string, status int, valid bool, opts ...reqOpt) response {
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
		return r
	}
	const email = "doc-devices@example.com"
	check("devices signed out", "GET", "/v1/account/devices", "", 401, true)
	b.register(email)
	require.Equal(t, "authenticated", signInOn(t, b, email, "doc-cookie"))
	r := check("devices", "GET", "/v1/account/devices", "", 200, true)
	var ds struct {
		Devices []deviceJSON `json:"devices"`
	}
	require.NoError(t, json.Unmarshal(r.body, &ds))
	require.Len(t, ds.Devices, 1)
	id := ds.Devices[0].ID
	check("rename", "PATCH", "/v1/account/devices/"+id, `{"name":"Mine"}`, 200, true, withHeader("Content-Type", "application/json"))
	check("rename invalid", "PATCH", "/v1/account/devices/"+id, `{"name":5}`, 422, false, withHeader("Content-Type", "application/json"))
	check("rename unknown", "PATCH", "/v1/account/devices/nope", `{"name":"x"}`, 404, true, withHeader("Content-Type", "application/json"))
	check("rename text", "PATCH", "/v1/account/devices/"+id, `{"name":"x"}`, 415, false, withHeader("Content-Type", "text/plain"))
	r = check("activity", "GET", "/v1/account/activity", "", 200, true)
	var page struct {
		Activity []activityJSON `json:"activity"`
	}
	require.NoError(t, json.Unmarshal(r.body, &page))
	require.NotEmpty(t, page.Activity)
	check("activity page", "GET", "/v1/account/activity?limit=1", "", 200, true)
	check("activity bad limit", "GET", "/v1/account/activity?limit=1000", "", 422, false)
	check("activity unknown cursor", "GET", "/v1/account/activity?before=nope", "", 404, true)
	check("not me unknown", "POST", "/v1/account/activity/nope/not-me", "", 404, true)
	check("forget unknown", "DELETE", "/v1/account/devices/nope", "", 404, true)
	check("forget", "DELETE", "/v1/account/devices/"+id, "", 200, true)
}
