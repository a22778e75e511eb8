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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
)

// TestAccountWiring: authn.mail_paths reaches the links in mail, the
// default security link answers a page, and the self-service API runs on
// the daemon's stores and engine: the configured attributes, the devices
// and the activity of a sign-in.
func TestAccountWiring(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "riskauth.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(`
authn:
  mail_paths: { verify_email: /app/verify, security: /app/security }
  account:
    attributes:
      - { name: shoe_size, type: integer, min: 30, max: 50, user_editable: true, personal_data: true }
`), 0o600))
	base, srv := start(t, cfgFile, map[string]string{"RISKAUTH_DATA_DIR": dir})
	outbox := filepath.Join(dir, mail.OutboxFile)
	a := &app{t: t, base: base}
	const email = "rosa@example.com"
	code, m := a.call(http.MethodPost, "/v1/register", map[string]any{"email": email, "password": userPassword})
	require.Equal(t, http.StatusAccepted, code, "%v", m)
	require.NoError(t, srv.Authn.Flush(context.Background()))
	f, err := os.Open(outbox)
	require.NoError(t, err)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var text string
	for sc.Scan() {
		var r mail.OutboxRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		if r.To == email && r.Kind == mail.KindVerifyEmail {
			text = r.Text
		}
	}
	f.Close()
	assert.Contains(t, text, "/app/verify?token=", "the configured path")

	resp, err := http.Get(base + "/account/security")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html"))
	assert.Contains(t, string(page), "Review your account security")

	code, m = a.call(http.MethodPost, "/v1/verify-email", map[string]any{"token": verifyToken(t, srv, outbox, email),
		"registration_secret": m["registration_secret"]})
	require.Equal(t, http.StatusOK, code, "%v", m)
	code, m = a.call(http.MethodPost, "/v1/login", map[string]any{"identifier": email, "password": userPassword,
		"client": map[string]any{"device": map[string]any{"cookie_id": "rosa-laptop"}}})
	require.Equal(t, http.StatusOK, code, "%v", m)
	require.Equal(t, "authenticated", m["status"], "%v", m)

	req, err := http.NewRequest(http.MethodPatch, base+"/v1/account", strings.NewReader(`{"attributes":{"shoe_size":38}}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+a.session)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	req.Header.Set("If-Match", `"0"`)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, string(body), `"shoe_size":38`)

	code, m = a.call(http.MethodGet, "/v1/account/devices", nil)
	require.Equal(t, http.StatusOK, code, "%v", m)
	require.Len(t, m["devices"], 1)
	assert.Equal(t, true, m["devices"].([]any)[0].(map[string]any)["current"])
	code, m = a.call(http.MethodGet, "/v1/account/activity", nil)
	require.Equal(t, http.StatusOK, code, "%v", m)
	kinds := []string{}
	for _, e := range m["activity"].([]any) {
		kinds = append(kinds, e.(map[string]any)["kind"].(string))
	}
	assert.Equal(t, []string{"profile_updated", "login_succeeded"}, kinds)
}
