package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

func TestEvaluateHappyPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})

	tests := []struct {
		name       string
		body       string
		decision   string
		wantReason string
		check      func(t *testing.T, m map[string]any)
	}{
		{
			name:     "browser login with device data",
			body:     loginBody("u-1", "203.0.113.7"),
			decision: "passwordless",
			check: func(t *testing.T, m map[string]any) {
				sig := m["signals"].(map[string]any)
				assert.Equal(t, "login", sig["event"].(map[string]any)["kind"])
				assert.Equal(t, "203.0.113.7", sig["event"].(map[string]any)["ip"])
				assert.Equal(t, "web", sig["attr"].(map[string]any)["app"])
				dev := sig["device"].(map[string]any)
				assert.Equal(t, true, dev["present"])
				assert.Equal(t, true, dev["has_cookie"])
				assert.NotEmpty(t, dev["id"])
				vel := sig["velocity"].(map[string]any)
				assert.Equal(t, true, vel["available"])
				assert.Contains(t, vel, "ip_failures_10m")
				st := m["signal_status"].(map[string]any)["velocity"].(map[string]any)
				assert.Equal(t, true, st["available"])
				assert.Empty(t, m["reasons"])
				assert.NotContains(t, m, "shadow_decision")
			},
		},
		{
			name:       "scripted client is stepped up with the reason",
			body:       `{"event":"login","identifier":"Alice@Example.com","ip":"198.51.100.9","user_agent":"curl/8.5.0","password":"` + testPassword + `"}`,
			decision:   "step_up",
			wantReason: "automation-client",
			check: func(t *testing.T, m map[string]any) {
				r := m["reasons"].([]any)
				require.NotEmpty(t, r)
				first := r[0].(map[string]any)
				assert.Equal(t, "headless browser, HTTP library or no user agent at all", first["description"])
				assert.EqualValues(t, 40, first["score"])
				assert.Equal(t, "low", first["alert"])
				assert.NotEmpty(t, first["evidence"])
				assert.Equal(t, "low", m["alert"])
			},
		},
		{
			name:     "ipv4-mapped ipv6 is normalised",
			body:     `{"event":"registration","identifier":"bob","ip":"::ffff:192.0.2.1","user_agent":"` + browserUA + `"}`,
			decision: "passwordless",
			check: func(t *testing.T, m map[string]any) {
				assert.Equal(t, "192.0.2.1", m["signals"].(map[string]any)["event"].(map[string]any)["ip"])
			},
		},
		{
			name:     "unknown fields are ignored",
			body:     `{"event":"mfa","user_id":"u-2","ip":"2001:db8::1","user_agent":"` + browserUA + `","future_field":{"x":[1,2]}}`,
			decision: "passwordless",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post("/v1/risk/evaluate", tc.body)
			require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
			assert.Equal(t, "application/json", r.header.Get("Content-Type"))
			assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
			assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
			assert.NotContains(t, string(r.body), testPassword)
			m := r.json(t)
			assert.Equal(t, tc.decision, m["decision"], "body: %s", r.body)
			_, err := uuid.Parse(m["evaluation_id"].(string))
			assert.NoError(t, err)
			assert.NotEmpty(t, m["ruleset_version"])
			assert.IsType(t, []any{}, m["reasons"])
			assert.Contains(t, m, "score")
			assert.Contains(t, m, "time")
			if tc.wantReason != "" {
				var ids []string
				for _, x := range m["reasons"].([]any) {
					ids = append(ids, x.(map[string]any)["rule"].(string))
				}
				assert.Contains(t, ids, tc.wantReason)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

// Twenty distinct accounts from one IP within ten minutes is credential
// stuffing: the default rules block the next attempt, over real HTTP.
func TestEvaluateCredentialStuffingBlocks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	var last map[string]any
	for i := range 21 {
		r := e.post("/v1/risk/evaluate", loginBody(fmt.Sprintf("victim-%d", i), "192.0.2.66"))
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		last = r.json(t)
	}
	assert.Equal(t, "block", last["decision"])
	assert.Equal(t, "credential-stuffing-ip", last["reasons"].([]any)[0].(map[string]any)["rule"])
	assert.Contains(t, e.metrics(), `riskauth_decisions_total{decision="block"} 1`)
}

func TestOutcome(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	evaluate := func() string {
		r := e.post("/v1/risk/evaluate", loginBody("u-out", "203.0.113.20"))
		require.Equal(t, http.StatusOK, r.status)
		return r.json(t)["evaluation_id"].(string)
	}
	id := evaluate()
	outcome := func(id, o string) string { return fmt.Sprintf(`{"evaluation_id":%q,"outcome":%q}`, id, o) }

	steps := []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"first flow outcome is recorded", outcome(id, "success"), 200, ""},
		{"second flow outcome conflicts", outcome(id, "failure"), 409, "outcome_already_recorded"},
		{"labels may repeat", outcome(id, "fraud"), 200, ""},
		{"labels may repeat twice", outcome(id, "legit"), 200, ""},
		{"unknown evaluation id", outcome(uuid.NewString(), "success"), 404, "unknown_evaluation"},
		{"evaluation id that is no uuid", outcome("no-such-evaluation", "success"), 404, "unknown_evaluation"},
		{"invalid outcome", outcome(id, "maybe"), 422, "invalid_request"},
		{"missing fields", `{}`, 422, "invalid_request"},
		{"wrong types", `{"evaluation_id":1,"outcome":true}`, 422, "invalid_request"},
		{"malformed", `{"evaluation_id":`, 400, "malformed_json"},
	}
	for _, s := range steps { // in order: they share the evaluation
		t.Run(s.name, func(t *testing.T) {
			r := e.post("/v1/risk/outcome", s.body)
			require.Equal(t, s.status, r.status, "body: %s", r.body)
			if s.code != "" {
				assert.Equal(t, s.code, r.errorCode(t))
				return
			}
			m := r.json(t)
			assert.Equal(t, true, m["recorded"])
			assert.Equal(t, id, m["evaluation_id"])
		})
	}
	t.Run("fields of a 422 are listed", func(t *testing.T) {
		r := e.post("/v1/risk/outcome", `{"evaluation_id":1,"outcome":true}`)
		assert.Equal(t, []string{"evaluation_id", "outcome"}, r.fields(t))
		r = e.post("/v1/risk/outcome", `{}`)
		assert.Equal(t, []string{"evaluation_id", "outcome"}, r.fields(t))
	})
	// The success taught the profile: the same user is now known.
	r := e.post("/v1/risk/evaluate", loginBody("u-out", "203.0.113.20"))
	require.Equal(t, http.StatusOK, r.status)
	user := r.json(t)["signals"].(map[string]any)["user"].(map[string]any)
	assert.Equal(t, true, user["known"])
	assert.Contains(t, e.metrics(), `riskauth_outcomes_total{outcome="failure",result="duplicate"} 1`)
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	attrs := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":"v"`, i)
		}
		return `{"event":"login","user_id":"u","attributes":{` + b.String() + `}}`
	}
	tests := []struct {
		name   string
		body   []byte
		status int
		code   string
		fields []string
	}{
		{"empty body", nil, 400, "malformed_json", nil},
		{"not json", []byte(`hello`), 400, "malformed_json", nil},
		{"truncated", []byte(`{"event":"login"`), 400, "malformed_json", nil},
		{"trailing garbage", []byte(`{"event":"login"} x`), 400, "malformed_json", nil},
		{"two values", []byte(`{"event":"login"}{"event":"login"}`), 400, "malformed_json", nil},
		{"invalid utf-8", []byte("{\"event\":\"login\",\"user_id\":\"\xff\xfe\"}"), 400, "malformed_json", nil},
		{"raw control character", []byte("{\"event\":\"lo\x01gin\"}"), 400, "malformed_json", nil},
		{"top-level array", []byte(`[1,2]`), 422, "invalid_request", []string{"(body)"}},
		{"top-level string", []byte(`"login"`), 422, "invalid_request", []string{"(body)"}},
		{"null body means no event", []byte(`null`), 422, "invalid_request", []string{"event"}},
		{"missing event", []byte(`{"user_id":"u"}`), 422, "invalid_request", []string{"event"}},
		{"bad event name", []byte(`{"event":"Log In"}`), 422, "invalid_request", []string{"event"}},
		{"wrong types everywhere", []byte(`{"event":1,"user_id":["u"],"ip":7,"device":{"screen_width":"wide","languages":[1],"pixel_ratio":"x"},"attributes":{"a":1,"b":"ok","c":{"d":1}}}`),
			422, "invalid_request", []string{"attributes.a", "attributes.c", "device.languages", "device.pixel_ratio", "device.screen_width", "event", "ip", "user_id"}},
		{"attributes not an object", []byte(`{"event":"login","attributes":["a"]}`), 422, "invalid_request", []string{"attributes"}},
		{"device not an object", []byte(`{"event":"login","device":"iphone"}`), 422, "invalid_request", []string{"device"}},
		{"float for an integer", []byte(`{"event":"login","device":{"screen_width":1.5}}`), 422, "invalid_request", []string{"device.screen_width"}},
		{"negative screen", []byte(`{"event":"login","device":{"screen_width":-1}}`), 422, "invalid_request", []string{"device.screen_width"}},
		{"NUL in user id", []byte(`{"event":"login","user_id":"a\u0000b"}`), 422, "invalid_request", []string{"user_id"}},
		{"NUL in attribute", []byte(`{"event":"login","attributes":{"k":"a\u0000"}}`), 422, "invalid_request", []string{"attributes.k"}},
		{"NUL in password", []byte(`{"event":"login","password":"\u0000"}`), 422, "invalid_request", []string{"password"}},
		{"NUL in device", []byte(`{"event":"login","device":{"languages":["e\u0000n"]}}`), 422, "invalid_request", []string{"device.languages[0]"}},
		{"bad ip", []byte(`{"event":"login","ip":"300.1.1.1"}`), 422, "invalid_request", []string{"ip"}},
		{"ip with zone", []byte(`{"event":"login","ip":"fe80::1%eth0"}`), 422, "invalid_request", []string{"ip"}},
		{"too many attributes", []byte(attrs(33)), 422, "invalid_request", []string{"attributes"}},
		{"user id too long", []byte(`{"event":"login","user_id":"` + strings.Repeat("a", 257) + `"}`), 422, "invalid_request", []string{"user_id"}},
		{"everything at once", []byte(`{"user_id":"` + strings.Repeat("a", 257) + `","ip":"x","user_agent":"` + strings.Repeat("u", 1025) + `"}`),
			422, "invalid_request", []string{"event", "ip", "user_id", "user_agent"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/v1/risk/evaluate", bytes.NewReader(tc.body))
			require.Equal(t, tc.status, r.status, "body: %s", r.body)
			assert.Equal(t, tc.code, r.errorCode(t))
			if tc.fields != nil {
				assert.ElementsMatch(t, tc.fields, r.fields(t), "body: %s", r.body)
			} else {
				assert.Empty(t, r.fields(t))
			}
			assert.NotContains(t, string(r.body), "goroutine")
		})
	}
	t.Run("attributes at the limit pass", func(t *testing.T) {
		r := e.post("/v1/risk/evaluate", attrs(32))
		assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	})
}
