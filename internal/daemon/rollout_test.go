package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	rolloutAPIKey   = "test-key-0123456789"
	rolloutAdminKey = "admin-key-0123456789abcdef"
)

func adminCall(t *testing.T, method, url, body string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+rolloutAdminKey)
	req.Header.Set("Content-Type", "application/yaml")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestRuleRollout wires the whole analyst workflow as an operator would
// configure it (a rule file, a shadow file, a named admin key) and checks
// the audit trail and the decision events in the JSONL sink: candidate in
// shadow, promote, hot reload from disk, rollback.
func TestRuleRollout(t *testing.T) {
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	shadowPath := filepath.Join(dir, "candidate.yaml")
	require.NoError(t, os.WriteFile(rulesPath, rules.DefaultFile, 0o644))
	cfgPath := filepath.Join(dir, "riskauth.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("rules: { poll: 100ms }\n"), 0o644))
	base, srv := start(t, cfgPath, map[string]string{
		"RISKAUTH_DATA_DIR": dir, "RISKAUTH_API_KEYS": rolloutAPIKey,
		"RISKAUTH_RULES_FILE": rulesPath, "RISKAUTH_RULES_SHADOW_FILE": shadowPath,
		"RISKAUTH_ADMIN_API_KEYS":        "alice:" + rolloutAdminKey,
		"RISKAUTH_KAFKA_DECISIONS_TOPIC": "riskauth.decisions",
	})
	v1 := srv.Engine.Rules().Current().Version

	// A stricter candidate: trial accounts are blocked.
	candidate := strings.Replace(string(rules.DefaultFile), "\nrules:\n", `
rules:
  - id: trial-block
    description: trial accounts are blocked
    when: attr.plan == "trial"
    action: block
`, 1)
	require.NotEqual(t, string(rules.DefaultFile), candidate)
	code, _, body := adminCall(t, "PUT", base+"/v1/admin/rules/candidate", candidate, nil)
	require.Equal(t, 200, code, body)
	onDisk, err := os.ReadFile(shadowPath)
	require.NoError(t, err)
	assert.Equal(t, candidate, string(onDisk), "the shadow file follows the API")

	code, evBody := post(t, base+"/v1/risk/evaluate", rolloutAPIKey,
		`{"event":"login","user_id":"bob","ip":"192.0.2.1","user_agent":"curl/8.5.0","attributes":{"plan":"trial"}}`)
	require.Equal(t, 200, code, evBody)
	assert.NotContains(t, evBody, "candidate")
	assert.NotContains(t, evBody, `"decision":"block"`, "the candidate never decides")

	code, hdr, body := adminCall(t, "GET", base+"/v1/admin/rules", "", nil)
	require.Equal(t, 200, code, body)
	require.Equal(t, `"`+v1+`"`, hdr.Get("ETag"))
	code, _, body = adminCall(t, "POST", base+"/v1/admin/rules/promote", "", map[string]string{"If-Match": hdr.Get("ETag")})
	require.Equal(t, 200, code, body)
	v2 := srv.Engine.Rules().Current().Version
	require.NotEqual(t, v1, v2)
	assert.NoFileExists(t, shadowPath, "a promoted candidate leaves the shadow file")

	// Hot reload from disk still works after a promote.
	edited := strings.Replace(candidate, "trial accounts are blocked", "trial accounts are blocked outright", 1)
	require.NoError(t, os.WriteFile(rulesPath, []byte(edited), 0o644))
	require.Eventually(t, func() bool { return srv.Engine.Rules().Current().Version != v2 }, testenv.Patience, 20*time.Millisecond)

	code, _, body = adminCall(t, "POST", base+"/v1/admin/rules/rollback", "", nil)
	require.Equal(t, 200, code, body)
	assert.Equal(t, v2, srv.Engine.Rules().Current().Version)

	require.NoError(t, srv.Sink.Close(context.Background()))
	type auditLine struct {
		ClassUID int `json:"class_uid"`
		Actor    struct {
			User struct {
				Name string `json:"name"`
			} `json:"user"`
		} `json:"actor"`
		Unmapped struct {
			Riskauth struct {
				Action     string `json:"action"`
				OldVersion string `json:"old_version"`
				NewVersion string `json:"new_version"`
			} `json:"riskauth"`
		} `json:"unmapped"`
	}
	var got []string
	var lines []auditLine
	f, err := os.Open(filepath.Join(dir, "alerts.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var l auditLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		if l.ClassUID == 3004 {
			lines = append(lines, l)
			got = append(got, l.Unmapped.Riskauth.Action+":"+l.Actor.User.Name)
		}
	}
	assert.Equal(t, []string{"candidate_set:alice", "promote:alice", "reload:file-watcher", "rollback:alice"}, got)
	require.Len(t, lines, 4)
	assert.Equal(t, v1, lines[1].Unmapped.Riskauth.OldVersion)
	assert.Equal(t, v2, lines[1].Unmapped.Riskauth.NewVersion)
	assert.Equal(t, v2, lines[3].Unmapped.Riskauth.NewVersion)

	// The decision event of the evaluation carries the candidate's verdict.
	df, err := os.ReadFile(filepath.Join(dir, "decisions.jsonl"))
	require.NoError(t, err)
	first, _, _ := strings.Cut(string(df), "\n")
	rec, err := ocsf.ParseDecision([]byte(first))
	require.NoError(t, err)
	require.NotNil(t, rec.Candidate)
	assert.Equal(t, "block", rec.Candidate.Decision.String())
	assert.NotEqual(t, rec.Decision, rec.Candidate.Decision)
}

// TestAdminOff: without an admin key the admin routes answer 404, to any
// key, and the ordinary API still works.
func TestAdminOff(t *testing.T) {
	base, _ := start(t, "", map[string]string{"RISKAUTH_DATA_DIR": t.TempDir(), "RISKAUTH_API_KEYS": rolloutAPIKey})
	code, _, body := adminCall(t, "GET", base+"/v1/admin/rules", "", map[string]string{"Authorization": "Bearer " + rolloutAPIKey})
	assert.Equal(t, http.StatusNotFound, code, body)
	assert.Contains(t, body, `"not_found"`)
	code, body = post(t, base+"/v1/risk/evaluate", rolloutAPIKey, `{"event":"login"}`)
	assert.Equal(t, http.StatusOK, code, body)
}
