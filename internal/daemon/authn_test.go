package daemon

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

const userPassword = "violet tractor umbrella 42"

// app is a client of the sign-in API that keeps its session as a bearer
// token, as a mobile app would.
type app struct {
	t       *testing.T
	base    string
	session string
}

func (a *app) call(method, path string, body any) (int, map[string]any) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(a.t, err)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	require.NoError(a.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Riskauth-Session", "bearer")
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	if a.session != "" {
		req.Header.Set("Authorization", "Bearer "+a.session)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	assert.Equal(a.t, "no-store", resp.Header.Get("Cache-Control"), "%s %s", method, path)
	assert.Empty(a.t, resp.Header.Values("Set-Cookie"), "a bearer client gets no cookie")
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	require.NoError(a.t, json.Unmarshal(raw, &m), "%s %s: %s", method, path, raw)
	if s, ok := m["session"].(map[string]any); ok {
		if tok, _ := s["token"].(string); tok != "" {
			a.session = tok
		}
	}
	return resp.StatusCode, m
}

var linkToken = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

// verifyToken is the token of the newest verification mail to to.
func verifyToken(t *testing.T, srv *Server, outbox, to string) string {
	t.Helper()
	require.NoError(t, srv.Authn.Flush(context.Background()))
	f, err := os.Open(outbox)
	require.NoError(t, err)
	defer f.Close()
	tok := ""
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r mail.OutboxRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		if r.To == to && r.Kind == mail.KindVerifyEmail {
			tok = linkToken.FindStringSubmatch(r.Text)[1]
		}
	}
	require.NotEmpty(t, tok, "no verification mail to %s", to)
	return tok
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	require.NoError(t, err)
	return c
}

// signInJourney: register, verify through the outbox, sign in, enrol TOTP,
// sign out, sign in again with the step-up the app now demands, and trade
// the session for an access token.
func signInJourney(t *testing.T, base string, srv *Server, outbox, email string) {
	t.Helper()
	a := &app{t: t, base: base}
	code, m := a.call(http.MethodPost, "/v1/register", map[string]any{"email": email, "password": userPassword})
	require.Equal(t, http.StatusAccepted, code, "%v", m)
	// The app shows its registration secret with the link, so the
	// password it chose stays.
	code, m = a.call(http.MethodPost, "/v1/verify-email", map[string]any{"token": verifyToken(t, srv, outbox, email),
		"registration_secret": m["registration_secret"]})
	require.Equal(t, http.StatusOK, code, "%v", m)
	require.Equal(t, "verified", m["status"])

	code, m = a.call(http.MethodPost, "/v1/login", map[string]any{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusOK, code, "%v", m)
	require.Equal(t, "authenticated", m["status"])
	require.NotEmpty(t, a.session)
	code, m = a.call(http.MethodGet, "/v1/session", nil)
	require.Equal(t, http.StatusOK, code, "%v", m)
	userID := m["user_id"]

	code, en := a.call(http.MethodPost, "/v1/totp", nil)
	require.Equal(t, http.StatusOK, code, "%v", en)
	secret := en["secret"].(string)
	code, m = a.call(http.MethodPost, "/v1/totp/confirm", map[string]any{"factor_id": en["factor_id"], "code": totpCode(t, secret, time.Now())})
	require.Equal(t, http.StatusOK, code, "%v", m)
	require.Len(t, m["recovery_codes"], 10)

	code, _ = a.call(http.MethodPost, "/v1/logout", nil)
	require.Equal(t, http.StatusOK, code)
	code, m = a.call(http.MethodGet, "/v1/session", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "session_invalid", m["error"].(map[string]any)["code"])
	a.session = ""

	code, m = a.call(http.MethodPost, "/v1/login", map[string]any{"identifier": email, "password": userPassword})
	require.Equal(t, http.StatusOK, code, "%v", m)
	require.Equal(t, "second_factor_required", m["status"], "TOTP is asked for once enrolled")
	code, m = a.call(http.MethodPost, "/v1/login/totp", map[string]any{"flow_id": m["flow_id"], "code": totpCode(t, secret, time.Now().Add(30*time.Second))})
	require.Equal(t, http.StatusOK, code, "%v", m)
	require.Equal(t, "authenticated", m["status"])
	assert.EqualValues(t, 2, m["session"].(map[string]any)["aal"])
	assert.Equal(t, userID, m["session"].(map[string]any)["user_id"])

	code, m = a.call(http.MethodPost, "/v1/token", nil)
	require.Equal(t, http.StatusOK, code, "%v", m)
	assert.Equal(t, "Bearer", m["token_type"])
	assert.Equal(t, 3, strings.Count(m["access_token"].(string), ".")+1, "a compact JWS")
}

// TestAuthnEmbeddedDefaults runs a whole sign-in on the embedded defaults:
// SQLite in the data dir, mail in the outbox, keys generated there.
func TestAuthnEmbeddedDefaults(t *testing.T) {
	dir := t.TempDir()
	base, srv := start(t, "", map[string]string{"RISKAUTH_DATA_DIR": dir})
	signInJourney(t, base, srv, filepath.Join(dir, mail.OutboxFile), "olga@example.com")

	for _, f := range []string{sealKeysFile, authnSecretFile, accessKeysFile, mail.OutboxFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err, f)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
	assert.FileExists(t, filepath.Join(dir, authnDBFile))
	resp, err := http.Get(base + "/.well-known/jwks.json")
	require.NoError(t, err)
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&set))
	resp.Body.Close()
	require.Len(t, set.Keys, 1)
	assert.Equal(t, "EdDSA", set.Keys[0].Alg)

	// The security events of the journey reached the alert sink.
	require.NoError(t, srv.Authn.Flush(context.Background()))
	require.NoError(t, srv.Sink.Close(context.Background()))
	alerts, err := os.ReadFile(filepath.Join(dir, "alerts.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(alerts), "mfa_enrolled")
	assert.NotContains(t, string(alerts), userPassword)
}

// TestAuthnPostgres: RISKAUTH_DATABASE_URL moves the accounts to
// PostgreSQL (a schema of the test's own, through search_path).
func TestAuthnPostgres(t *testing.T) {
	url := testenv.Require(t, testenv.EnvPostgresURL)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	_ = conn.Close(ctx)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), url)
		require.NoError(t, err)
		defer c.Close(context.Background())
		_, err = c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		require.NoError(t, err)
	})
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	dir := t.TempDir()
	base, srv := start(t, "", map[string]string{"RISKAUTH_DATA_DIR": dir, "RISKAUTH_DATABASE_URL": url + sep + "search_path=" + schema})
	signInJourney(t, base, srv, filepath.Join(dir, mail.OutboxFile), "pia@example.com")
	assert.NoFileExists(t, filepath.Join(dir, authnDBFile), "no SQLite store when PostgreSQL is configured")

	c, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer c.Close(ctx)
	var n int
	require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM "+schema+".users").Scan(&n))
	assert.Equal(t, 1, n)
}

// TestProductionRefusesDefaults: production needs shared keys, real mail
// and the public origin; each missing one is named.
func TestProductionRefusesDefaults(t *testing.T) {
	_, err := config.Load("", func(k string) string {
		return map[string]string{"RISKAUTH_ENV": "production", "RISKAUTH_DATA_DIR": t.TempDir()}[k]
	})
	require.Error(t, err)
	for _, want := range []string{"RISKAUTH_SEAL_KEYS", "RISKAUTH_AUTHN_SECRET", "RISKAUTH_SMTP_URL", "RISKAUTH_PUBLIC_ORIGIN"} {
		assert.ErrorContains(t, err, want)
	}
}

// TestAuthnFlowConfig: flow settings and the rate limit of the YAML file
// reach the running service.
func TestAuthnFlowConfig(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "riskauth.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(`
authn:
  sessions: { aal1_idle: 1h, aal1_absolute: 2h }
  rate_limit: { per_ip_per_minute: 1, burst: 4 }
`), 0o600))
	base, srv := start(t, cfgFile, map[string]string{"RISKAUTH_DATA_DIR": dir})
	a := &app{t: t, base: base}
	const email = "quinn@example.com"
	code, m := a.call(http.MethodPost, "/v1/register", map[string]any{"email": email, "password": userPassword})
	require.Equal(t, http.StatusAccepted, code, "%v", m)
	code, m = a.call(http.MethodPost, "/v1/verify-email", map[string]any{"token": verifyToken(t, srv, filepath.Join(dir, mail.OutboxFile), email),
		"registration_secret": m["registration_secret"]})
	require.Equal(t, http.StatusOK, code, "%v", m)
	before := time.Now()
	code, m = a.call(http.MethodPost, "/v1/login", map[string]any{"identifier": email, "password": userPassword})
	after := time.Now()
	require.Equal(t, http.StatusOK, code, "%v", m)
	s := m["session"].(map[string]any)
	idle, err := time.Parse(time.RFC3339Nano, s["idle_expires_at"].(string))
	require.NoError(t, err)
	abs, err := time.Parse(time.RFC3339Nano, s["absolute_expires_at"].(string))
	require.NoError(t, err)
	assert.Equal(t, time.Hour, abs.Sub(idle), "idle 1h, absolute 2h")
	// Set by the server during the call: between before and after, plus
	// the hour (and a second, in case it rounds), however long that took.
	assert.False(t, idle.Before(before.Add(time.Hour-time.Second)), "idle %s, sign-in at %s", idle, before)
	assert.False(t, idle.After(after.Add(time.Hour+time.Second)), "idle %s, answered at %s", idle, after)

	code, m = a.call(http.MethodPost, "/v1/login", map[string]any{"identifier": email})
	require.Equal(t, http.StatusOK, code, "%v", m)
	code, m = a.call(http.MethodPost, "/v1/login", map[string]any{"identifier": email})
	require.Equal(t, http.StatusTooManyRequests, code, "the fifth unauthenticated request in a minute: %v", m)
	assert.Equal(t, "rate_limited", m["error"].(map[string]any)["code"])
}
