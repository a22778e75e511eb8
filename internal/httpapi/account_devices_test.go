package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

type deviceJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Named     bool   `json:"named"`
	Trusted   bool   `json:"trusted"`
	Current   bool   `json:"current"`
	UserAgent string `json:"user_agent"`
}

type activityJSON struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	DeviceID string `json:"device_id"`
	Device   string `json:"device"`
	Factor   string `json:"factor"`
	Decision string `json:"decision"`
	Outcome  string `json:"outcome"`
	NotMe    string `json:"not_me"`
	Disowned string `json:"disowned_at"`
}

// signInOn signs b in with the password from the device whose collector
// cookie is cookie, and answers the sign-in's status.
func signInOn(t *testing.T, b *browser, email, cookie string) string {
	t.Helper()
	r := b.post("/v1/login", map[string]any{"identifier": email, "password": userPassword,
		"client": map[string]any{"device": map[string]any{"cookie_id": cookie}}})
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	return r.json(t)["status"].(string)
}

func devicesOf(t *testing.T, b *browser) []deviceJSON {
	t.Helper()
	r := b.get("/v1/account/devices")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var out struct {
		Devices []deviceJSON `json:"devices"`
	}
	require.NoError(t, json.Unmarshal(r.body, &out))
	return out.Devices
}

// TestAccountDevices: the devices a user signed in from are listed (the
// request's own marked), can be renamed, and forgetting one signs it out
// and makes the next sign-in from it ask for a second factor, although it
// just signed in with the password alone.
func TestAccountDevices(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	laptop, phone := e.browser(), e.browser()
	const email = "devices@example.com"
	laptop.register(email)
	require.Equal(t, "authenticated", signInOn(t, laptop, email, "laptop-cookie-1"))
	require.Equal(t, "authenticated", signInOn(t, laptop, email, "laptop-cookie-1"), "a known device, password alone")
	phone.ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	require.Equal(t, "authenticated", signInOn(t, phone, email, "phone-cookie-2"))

	ds := devicesOf(t, phone)
	require.Len(t, ds, 2)
	assert.True(t, ds[0].Current, "the phone, seen last: %+v", ds)
	assert.Contains(t, ds[0].Name, "iOS")
	assert.False(t, ds[0].Named)
	lap := ds[1]
	assert.False(t, lap.Current)
	assert.Equal(t, "Chrome on Windows", lap.Name)

	t.Run("rename", func(t *testing.T) {
		r := phone.call(http.MethodPatch, "/v1/account/devices/"+lap.ID, map[string]any{"name": "Work laptop"}, withHeader("Content-Type", "application/json"))
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		ds := devicesOf(t, phone)
		assert.Equal(t, "Work laptop", ds[1].Name)
		assert.True(t, ds[1].Named)
		for _, tc := range []struct {
			name, path, body string
			status           int
			fields           []string
		}{
			{"too long", lap.ID, `{"name":"` + strings.Repeat("x", 65) + `"}`, http.StatusUnprocessableEntity, []string{"name"}},
			{"control character", lap.ID, `{"name":"a\u0007b"}`, http.StatusUnprocessableEntity, []string{"name"}},
			{"unknown member", lap.ID, `{"name":"x","trusted":true}`, http.StatusUnprocessableEntity, []string{"trusted"}},
			{"no name", lap.ID, `{}`, http.StatusUnprocessableEntity, []string{"name"}},
			{"unknown device", "nope", `{"name":"x"}`, http.StatusNotFound, nil},
		} {
			r := phone.call(http.MethodPatch, "/v1/account/devices/"+tc.path, tc.body, withHeader("Content-Type", "application/json"))
			require.Equal(t, tc.status, r.status, "%s: %s", tc.name, r.body)
			if tc.fields != nil {
				assert.Equal(t, tc.fields, r.fields(t), tc.name)
			}
		}
	})
	t.Run("forget", func(t *testing.T) {
		r := phone.call(http.MethodDelete, "/v1/account/devices/"+lap.ID, nil)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.Equal(t, 2.0, r.json(t)["sessions_revoked"], "both laptop sessions")
		r = laptop.get("/v1/session")
		assert.Equal(t, http.StatusUnauthorized, r.status, "the laptop is signed out: %s", r.body)
		assert.Len(t, devicesOf(t, phone), 1)
		r = phone.call(http.MethodDelete, "/v1/account/devices/"+lap.ID, nil)
		assert.Equal(t, http.StatusNotFound, r.status, "forgotten already: %s", r.body)

		assert.Equal(t, "second_factor_required", signInOn(t, laptop, email, "laptop-cookie-1"),
			"the password alone no longer signs in from the forgotten device")
	})
	t.Run("signed out", func(t *testing.T) {
		r := e.browser().get("/v1/account/devices")
		assert.Equal(t, http.StatusUnauthorized, r.status)
	})
}

// TestAccountActivity: sign-ins and security changes are in the user's
// history, newest first and paged; "this wasn't me" on a sign-in ends
// its session, reports it to the engine as fraud, mails a password reset,
// and is done once.
func TestAccountActivity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	me, thief := e.browser(), e.browser()
	const email = "activity@example.com"
	me.register(email)
	require.Equal(t, "authenticated", signInOn(t, me, email, "my-cookie"))
	// The thief has the password and a browser the engine lets through
	// with it alone: what "this wasn't me" is for.
	thief.ua = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	require.Equal(t, "authenticated", signInOn(t, thief, email, "thief-cookie"))
	r := me.call(http.MethodPatch, "/v1/account", map[string]any{"display_name": "Me"}, ifMatch("*"))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)

	page := func(b *browser, query string) ([]activityJSON, string) {
		t.Helper()
		r := b.get("/v1/account/activity" + query)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		var out struct {
			Activity []activityJSON `json:"activity"`
			Next     string         `json:"next"`
		}
		require.NoError(t, json.Unmarshal(r.body, &out))
		return out.Activity, out.Next
	}
	all, next := page(me, "")
	assert.Empty(t, next)
	var kinds []string
	for _, a := range all {
		kinds = append(kinds, a.Kind)
	}
	assert.Equal(t, []string{"profile_updated", "login_succeeded", "login_succeeded"}, kinds,
		"my sign-in, the thief's, then my change, newest first")
	theirs := all[1]
	assert.Equal(t, "password", theirs.Factor)
	assert.NotEmpty(t, theirs.DeviceID)
	assert.Equal(t, "success", theirs.Outcome)
	assert.Equal(t, "/v1/account/activity/"+theirs.ID+"/not-me", theirs.NotMe)

	first, next := page(me, "?limit=1")
	require.Len(t, first, 1)
	require.Equal(t, all[0].ID, next)
	second, _ := page(me, "?limit=2&before="+next)
	require.Len(t, second, 2)
	assert.Equal(t, all[1].ID, second[0].ID)
	r = me.get("/v1/account/activity?limit=0")
	assert.Equal(t, http.StatusUnprocessableEntity, r.status)
	r = me.get("/v1/account/activity?before=unknown")
	assert.Equal(t, http.StatusNotFound, r.status)

	r = me.post(theirs.NotMe, nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	m := r.json(t)
	assert.Equal(t, 1.0, m["sessions_revoked"])
	assert.Equal(t, true, m["fraud_reported"])
	assert.Equal(t, true, m["reset_sent"])
	r = thief.get("/v1/session")
	assert.Equal(t, http.StatusUnauthorized, r.status, "the thief is signed out: %s", r.body)
	assert.Len(t, e.auth.mails(t, email, mail.KindPasswordReset), 1)

	r = me.post(theirs.NotMe, nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, 0.0, r.json(t)["sessions_revoked"], "done once")
	assert.Len(t, e.auth.mails(t, email, mail.KindPasswordReset), 1)
	r = me.post("/v1/account/activity/nope/not-me", nil)
	assert.Equal(t, http.StatusNotFound, r.status)

	all, _ = page(me, "")
	assert.Equal(t, "activity_disowned", all[0].Kind)
	assert.NotEmpty(t, all[2].Disowned)
	assert.Empty(t, all[2].NotMe)
}
