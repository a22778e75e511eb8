package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

const (
	adminKey    = "admin-key-alice-0123456789"
	adminKeyBob = "admin-key-bob-0123456789ab"
)

// tierRules enforce a block on attr.tier == "bad" and shadow a step-up on
// "odd"; tierCandidate steps "bad" up and blocks "odd".
const tierRules = `version: 1
thresholds: { step_up: 40, block: 80 }
rules:
  - id: bad-tier
    description: the app says the account is bad
    when: attr.tier == "bad"
    action: block
    tests:
      - { name: bad, given: { attr: { tier: bad } }, match: true }
  - id: odd-tier
    description: the app says the account is odd
    when: attr.tier == "odd"
    score: 50
    mode: shadow
`

const tierCandidate = `version: 1
thresholds: { step_up: 40, block: 80 }
rules:
  - id: bad-tier-soft
    description: a bad account steps up instead
    when: attr.tier == "bad"
    score: 45
  - id: odd-tier-block
    description: an odd account is blocked
    when: attr.tier == "odd"
    action: block
`

// adminEnv is a server with admin keys on a rule file in a temp dir.
func adminEnv(t *testing.T) (*env, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(tierRules), 0o644))
	e := newEnvRules(t, httpapi.Config{AdminKeys: []httpapi.AdminKey{{Name: "alice", Key: adminKey}, {Name: "bob", Key: adminKeyBob}}}, path)
	return e, path
}

func asAdmin(key string) reqOpt { return withHeader("Authorization", "Bearer "+key) }

var yamlType = withHeader("Content-Type", "application/yaml")

func (e *env) admin(method, path, body string, opts ...reqOpt) response {
	e.t.Helper()
	var r response
	opts = append([]reqOpt{asAdmin(adminKey), yamlType}, opts...)
	if body == "" {
		r = e.do(method, path, nil, opts...)
	} else {
		r = e.do(method, path, strings.NewReader(body), opts...)
	}
	assert.Equal(e.t, "no-store", r.header.Get("Cache-Control"), "admin answers are never cached")
	return r
}

func tierBody(user, tier string) string {
	return fmt.Sprintf(`{"event":"login","user_id":%q,"user_agent":%q,"attributes":{"tier":%q}}`, user, browserUA, tier)
}

func TestAdminAuth(t *testing.T) {
	t.Parallel()
	off := newEnv(t, httpapi.Config{})
	for _, key := range []string{"", "wrong-key-0123456789", testKey, adminKey} {
		r := off.get("/v1/admin/rules", asAdmin(key))
		require.Equal(t, http.StatusNotFound, r.status, "admin API off: 404 whatever the key")
		assert.Equal(t, "not_found", r.errorCode(t))
	}

	e, _ := adminEnv(t)
	for name, c := range map[string]struct {
		opts   []reqOpt
		status int
	}{
		"no key":       {[]reqOpt{withHeader("Authorization", "")}, 401},
		"wrong key":    {[]reqOpt{asAdmin("wrong-key-0123456789")}, 401},
		"ordinary key": {[]reqOpt{asAdmin(testKey)}, 401},
		"admin key":    {[]reqOpt{asAdmin(adminKey)}, 200},
		"second admin": {[]reqOpt{asAdmin(adminKeyBob)}, 200},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.get("/v1/admin/rules", c.opts...)
			require.Equal(t, c.status, r.status, "%s", r.body)
			if c.status == 401 {
				assert.Equal(t, "unauthorized", r.errorCode(t))
			}
		})
	}
	r := e.post("/v1/risk/evaluate", tierBody("u1", "bad"), asAdmin(adminKey))
	assert.Equal(t, 401, r.status, "an admin key is not an API key")

	eng, _ := newEngine(t, newRegistry())
	_, err := httpapi.New(httpapi.Config{APIKeys: []string{testKey}, AdminKeys: []httpapi.AdminKey{{Name: "x", Key: testKey}}},
		httpapi.Deps{Engine: eng, Rules: eng.Rules()})
	require.ErrorContains(t, err, "admin keys must be separate")
	require.NotContains(t, err.Error(), testKey)
}

// adminStatus is the part of GET /v1/admin/rules the tests read.
type adminStatus struct {
	Active struct {
		Version  string `json:"version"`
		Path     string `json:"path"`
		LoadedAt string `json:"loaded_at"`
		Rules    []struct {
			ID      string  `json:"id"`
			Mode    string  `json:"mode"`
			Hits    int     `json:"hits"`
			LastHit *string `json:"last_hit"`
		} `json:"rules"`
	} `json:"active"`
	Persistent bool `json:"persistent"`
	Candidate  *struct {
		Version string `json:"version"`
	} `json:"candidate"`
	History []struct {
		Version string `json:"version"`
	} `json:"history"`
}

func (e *env) adminStatus() adminStatus {
	e.t.Helper()
	r := e.admin("GET", "/v1/admin/rules", "")
	require.Equal(e.t, 200, r.status, "%s", r.body)
	var st adminStatus
	require.NoError(e.t, jsonUnmarshal(r.body, &st))
	require.Equal(e.t, `"`+st.Active.Version+`"`, r.header.Get("ETag"))
	return st
}

func TestAdminRulesStatusAndValidate(t *testing.T) {
	t.Parallel()
	e, path := adminEnv(t)
	st := e.adminStatus()
	assert.Equal(t, path, st.Active.Path)
	assert.True(t, st.Persistent)
	assert.NotEmpty(t, st.Active.LoadedAt)
	assert.Nil(t, st.Candidate)
	assert.Empty(t, st.History)
	require.Len(t, st.Active.Rules, 2)
	assert.Equal(t, 0, st.Active.Rules[0].Hits)
	assert.Nil(t, st.Active.Rules[0].LastHit)

	for i := range 3 {
		require.Equal(t, 200, e.post("/v1/risk/evaluate", tierBody(fmt.Sprint("u", i), "bad")).status)
	}
	st = e.adminStatus()
	assert.Equal(t, "bad-tier", st.Active.Rules[0].ID)
	assert.Equal(t, 3, st.Active.Rules[0].Hits)
	assert.NotNil(t, st.Active.Rules[0].LastHit)
	assert.Equal(t, "shadow", st.Active.Rules[1].Mode)

	r := e.admin("POST", "/v1/admin/rules/validate", tierCandidate)
	require.Equal(t, 200, r.status, "%s", r.body)
	m := r.json(t)
	assert.Equal(t, true, m["valid"])
	assert.Equal(t, true, m["changed"])
	assert.NotEqual(t, st.Active.Version, m["version"])

	r = e.admin("POST", "/v1/admin/rules/validate", tierRules)
	require.Equal(t, 200, r.status)
	assert.Equal(t, st.Active.Version, r.json(t)["version"], "the version a file gets is the one it has once active")
	assert.Equal(t, false, r.json(t)["changed"])
	assert.Equal(t, true, r.json(t)["cases_passed"])

	bad := strings.Replace(tierCandidate, `attr.tier == "odd"`, `attr.tier == "odd" && geo.countryy == "X"`, 1)
	bad = strings.Replace(bad, "score: 45", "score: 45\n    bogus: 1", 1)
	r = e.admin("POST", "/v1/admin/rules/validate", bad)
	require.Equal(t, 422, r.status, "%s", r.body)
	assert.Equal(t, "invalid_rule_file", r.errorCode(t))
	fields := r.fields(t)
	require.Len(t, fields, 2, "every error at once: %s", r.body)
	assert.Regexp(t, `^body:\d+(:\d+)?$`, fields[0])
	assert.Regexp(t, `^body:\d+:\d+$`, fields[1])
	assert.Contains(t, string(r.body), "geo.countryy")

	r = e.admin("POST", "/v1/admin/rules/validate", tierRules, withHeader("Content-Type", "application/json"))
	assert.Equal(t, 415, r.status)
	r = e.admin("POST", "/v1/admin/rules/validate", "")
	assert.Equal(t, 422, r.status)
}

func TestAdminCandidateNeverChangesTheAnswer(t *testing.T) {
	t.Parallel()
	e, _ := adminEnv(t)
	answers := func() map[string]string {
		out := map[string]string{}
		for _, tier := range []string{"bad", "odd", "none"} {
			r := e.post("/v1/risk/evaluate", tierBody("cand-"+tier, tier))
			require.Equal(t, 200, r.status)
			m := r.json(t)
			assert.NotContains(t, m, "candidate", "the candidate never reaches the caller")
			out[tier] = fmt.Sprint(m["decision"], m["score"], m["reasons"])
		}
		return out
	}
	before := answers()
	r := e.admin("PUT", "/v1/admin/rules/candidate", tierCandidate)
	require.Equal(t, 200, r.status, "%s", r.body)
	cand := r.json(t)["candidate"].(map[string]any)["version"].(string)
	assert.Equal(t, cand, e.adminStatus().Candidate.Version)
	assert.Equal(t, before, answers())

	metrics := e.metrics()
	assert.Contains(t, metrics, `riskauth_shadow_divergence_total{from="block",source="candidate",to="step_up"} 1`)
	assert.Contains(t, metrics, `riskauth_shadow_divergence_total{from="passwordless",source="candidate",to="block"} 1`)

	r = e.admin("DELETE", "/v1/admin/rules/candidate", "")
	require.Equal(t, 200, r.status)
	assert.Equal(t, true, r.json(t)["cleared"])
	assert.Nil(t, e.adminStatus().Candidate)
	r = e.admin("DELETE", "/v1/admin/rules/candidate", "")
	assert.Equal(t, nil, r.json(t)["cleared"], "cleared is omitted when there was nothing")

	failing := strings.Replace(tierRules, "match: true", "match: false", 1)
	r = e.admin("PUT", "/v1/admin/rules/candidate", failing)
	require.Equal(t, 422, r.status)
	assert.Equal(t, "rule_cases_failed", r.errorCode(t))
}

func TestAdminPromoteAndRollback(t *testing.T) {
	t.Parallel()
	e, path := adminEnv(t)
	v1 := e.adminStatus().Active.Version

	r := e.admin("POST", "/v1/admin/rules/promote", tierCandidate)
	require.Equal(t, 428, r.status)
	assert.Equal(t, "precondition_required", r.errorCode(t))
	r = e.admin("POST", "/v1/admin/rules/promote", tierCandidate, withHeader("If-Match", `"0000000000000000"`))
	require.Equal(t, 409, r.status)
	assert.Equal(t, "version_conflict", r.errorCode(t))
	r = e.admin("POST", "/v1/admin/rules/promote", "", withHeader("If-Match", `"`+v1+`"`))
	require.Equal(t, 409, r.status)
	assert.Equal(t, "no_candidate", r.errorCode(t))

	// Promote the candidate loaded in shadow.
	require.Equal(t, 200, e.admin("PUT", "/v1/admin/rules/candidate", tierCandidate).status)
	r = e.admin("POST", "/v1/admin/rules/promote", "", withHeader("If-Match", `"`+v1+`"`))
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, v1, r.json(t)["previous_version"])
	assert.Equal(t, true, r.json(t)["persistent"])
	st := e.adminStatus()
	v2 := st.Active.Version
	assert.NotEqual(t, v1, v2)
	assert.Nil(t, st.Candidate, "a promoted candidate is no longer the candidate")
	onDisk, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, tierCandidate, string(onDisk), "the file on disk is the running set")
	r = e.post("/v1/risk/evaluate", tierBody("after", "odd"))
	assert.Equal(t, "block", r.json(t)["decision"], "the promoted rules decide now")

	// Concurrent promotes with the same expected version: one wins.
	const n = 6
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := strings.Replace(tierCandidate, "score: 45", fmt.Sprint("score: ", 50+i), 1)
			statuses[i] = e.admin("POST", "/v1/admin/rules/promote?expected_version="+v2, body).status
		}()
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		if s == 200 {
			won++
		} else {
			assert.Equal(t, 409, s)
		}
	}
	assert.Equal(t, 1, won, "%v", statuses)
	st = e.adminStatus()
	require.Len(t, st.History, 2)
	assert.Equal(t, v2, st.History[0].Version)

	// Roll back twice: v3 -> v2 -> v1, the file following.
	r = e.admin("POST", "/v1/admin/rules/rollback", "", withHeader("If-Match", `"stale"`))
	assert.Equal(t, 409, r.status)
	r = e.admin("POST", "/v1/admin/rules/rollback", "")
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, v2, e.adminStatus().Active.Version)
	r = e.admin("POST", "/v1/admin/rules/rollback", "")
	require.Equal(t, 200, r.status)
	assert.Equal(t, v1, e.adminStatus().Active.Version)
	onDisk, _ = os.ReadFile(path)
	assert.Equal(t, tierRules, string(onDisk))
	r = e.admin("POST", "/v1/admin/rules/rollback", "")
	require.Equal(t, 409, r.status)
	assert.Equal(t, "no_history", r.errorCode(t))

	// Hot reload from disk still works after all this.
	edited := strings.Replace(tierRules, "score: 50", "score: 55", 1)
	require.NoError(t, os.WriteFile(path, []byte(edited), 0o644))
	changed, err := e.rules.Reload()
	require.NoError(t, err)
	assert.True(t, changed)
	assert.NotEqual(t, v1, e.adminStatus().Active.Version)
}

func TestRuleFeedbackOverHTTP(t *testing.T) {
	t.Parallel()
	e, _ := adminEnv(t)
	require.Equal(t, 200, e.admin("PUT", "/v1/admin/rules/candidate", tierCandidate).status)
	ids := map[string]string{}
	for _, tier := range []string{"bad", "odd"} {
		r := e.post("/v1/risk/evaluate", tierBody("fb-"+tier, tier))
		require.Equal(t, 200, r.status)
		ids[tier] = r.json(t)["evaluation_id"].(string)
	}
	for _, c := range []struct{ tier, label string }{{"bad", "fraud"}, {"bad", "fraud"}, {"odd", "legit"}} {
		r := e.post("/v1/risk/outcome", fmt.Sprintf(`{"evaluation_id":%q,"outcome":%q}`, ids[c.tier], c.label))
		require.Equal(t, 200, r.status, "%s", r.body)
	}
	m := e.metrics()
	for _, line := range []string{
		`riskauth_rule_feedback_total{label="fraud",mode="enforce",rule="bad-tier"} 2`,
		`riskauth_rule_feedback_total{label="fraud",mode="candidate",rule="bad-tier-soft"} 2`,
		`riskauth_rule_feedback_total{label="legit",mode="shadow",rule="odd-tier"} 1`,
		`riskauth_rule_feedback_total{label="legit",mode="candidate",rule="odd-tier-block"} 1`,
	} {
		assert.Contains(t, m, line)
	}
	assert.Equal(t, 4, strings.Count(m, "riskauth_rule_feedback_total{"))
}

// The admin routes' real answers conform to the OpenAPI document.
func TestOpenAPIAdminConform(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	e, _ := adminEnv(t)
	v1 := e.adminStatus().Active.Version
	require.Equal(t, 200, e.post("/v1/risk/evaluate", tierBody("doc", "bad")).status)
	steps := []struct {
		exchange
		opts []reqOpt
	}{
		{exchange: exchange{"status", "GET", "/v1/admin/rules", "", nil, 200, true}},
		{exchange: exchange{"validate", "POST", "/v1/admin/rules/validate", tierCandidate, nil, 200, false}},
		{exchange: exchange{"validate bad", "POST", "/v1/admin/rules/validate", "version: 2", nil, 422, false}},
		{exchange: exchange{"validate json", "POST", "/v1/admin/rules/validate", "{}", nil, 415, false}, opts: []reqOpt{withHeader("Content-Type", "application/json")}},
		{exchange: exchange{"candidate", "PUT", "/v1/admin/rules/candidate", tierCandidate, nil, 200, false}},
		{exchange: exchange{"status with candidate", "GET", "/v1/admin/rules", "", nil, 200, true}},
		{exchange: exchange{"promote no precondition", "POST", "/v1/admin/rules/promote", "", nil, 428, false}},
		{exchange: exchange{"promote conflict", "POST", "/v1/admin/rules/promote?expected_version=nope", "", nil, 409, false}},
		{exchange: exchange{"promote", "POST", "/v1/admin/rules/promote?expected_version=" + v1, "", nil, 200, false}},
		{exchange: exchange{"clear none", "DELETE", "/v1/admin/rules/candidate", "", nil, 200, true}},
		{exchange: exchange{"rollback", "POST", "/v1/admin/rules/rollback", "", nil, 200, true}},
		{exchange: exchange{"rollback none", "POST", "/v1/admin/rules/rollback", "", nil, 409, true}},
		{exchange: exchange{"unauthorized", "GET", "/v1/admin/rules", "", nil, 401, false}, opts: []reqOpt{asAdmin(testKey)}},
		{exchange: exchange{"wrong method", "PATCH", "/v1/admin/rules", "", nil, 405, false}},
	}
	for _, x := range steps {
		t.Run(x.name, func(t *testing.T) {
			resp := e.admin(x.method, x.path, x.body, x.opts...)
			require.Equal(t, x.status, resp.status, "body: %s", resp.body)
			validate(t, router, x.exchange, resp)
		})
	}
	off := newEnv(t, httpapi.Config{})
	resp := off.get("/v1/admin/rules", asAdmin(adminKey))
	validate(t, router, exchange{"off", "GET", "/v1/admin/rules", "", nil, 404, true}, resp)
}

// With the embedded default rules there is no file to write: promote and
// rollback work in memory and say so.
func TestAdminPromoteEmbeddedDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{AdminKeys: []httpapi.AdminKey{{Name: "alice", Key: adminKey}}})
	st := e.adminStatus()
	assert.False(t, st.Persistent)
	assert.Empty(t, st.Active.Path)
	r := e.admin("POST", "/v1/admin/rules/promote", tierRules, withHeader("If-Match", `"`+st.Active.Version+`"`))
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, false, r.json(t)["persistent"])
	assert.NotEqual(t, st.Active.Version, e.adminStatus().Active.Version)
	r = e.admin("POST", "/v1/admin/rules/rollback", "")
	require.Equal(t, 200, r.status, "%s", r.body)
	assert.Equal(t, st.Active.Version, e.adminStatus().Active.Version)
}

// TestAdminRulesNotPersisted: when the rule file cannot be written (here
// its directory is gone; a read-only mount fails alike, but tests run as
// root, which ignores permissions), promote answers 503
// rules_not_persisted, logs why and changes nothing.
func TestAdminRulesNotPersisted(t *testing.T) {
	t.Parallel()
	e, path := adminEnv(t)
	v1 := e.adminStatus().Active.Version
	require.NoError(t, os.RemoveAll(filepath.Dir(path)))
	r := e.admin("POST", "/v1/admin/rules/promote", tierCandidate, withHeader("If-Match", `"`+v1+`"`))
	require.Equal(t, 503, r.status, "%s", r.body)
	assert.Equal(t, "rules_not_persisted", r.errorCode(t))
	assert.Equal(t, v1, e.adminStatus().Active.Version, "nothing changed")
	assert.Contains(t, e.logs.String(), "rule file not written")
}
