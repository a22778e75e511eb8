package httpapi_test

import (
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// sessionUseRules: uses of a session from 192.0.2.0/24 must
// re-authenticate, from 203.0.113.0/24 end the session.
const sessionUseRules = `version: 1
description: session-use test rules
thresholds: { step_up: 40, block: 80 }
rules:
  - id: session-stepup-net
    description: test network that must re-authenticate
    when: event.kind == "session_use" && event.ip startsWith "192.0.2."
    action: step_up
  - id: session-block-net
    description: test network whose uses are revoked
    when: event.kind == "session_use" && event.ip startsWith "203.0.113."
    action: block
`

// TestSessionUseHTTP: GET /v1/session checks a session used from another
// network (the address behind the trusted proxy): 403
// reauthentication_required for a step-up, 401 and a cleared cookie once
// the rules revoke it; the owner's own network goes on meanwhile.
func TestSessionUseHTTP(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(sessionUseRules), 0o600))
	e := newEnvRules(t, httpapi.Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, path)
	b := e.browser()
	from := func(ip string) reqOpt { return withHeader("X-Forwarded-For", ip) }
	b.register("sam@example.com")
	b.signIn("sam@example.com") // from the proxy's address: the session's network

	for _, tc := range []struct {
		name   string
		ip     string
		status int
		code   string
	}{
		{"the session's own network", "127.0.0.1", http.StatusOK, ""},
		{"a network the rules allow", "198.51.100.20", http.StatusOK, ""},
		{"a network that must re-authenticate", "192.0.2.7", http.StatusForbidden, "reauthentication_required"},
		{"the owner's network meanwhile", "198.51.100.21", http.StatusOK, ""},
		{"a network the rules block", "203.0.113.9", http.StatusUnauthorized, "session_invalid"},
		{"revoked for the owner too", "198.51.100.21", http.StatusUnauthorized, "session_invalid"},
	} {
		cookie := b.cookie
		r := b.get("/v1/session", from(tc.ip))
		require.Equal(t, tc.status, r.status, "%s: %s", tc.name, r.body)
		if tc.code != "" {
			require.Equal(t, tc.code, r.errorCode(t), tc.name)
		}
		if tc.status == http.StatusUnauthorized {
			require.Empty(t, b.cookie, "%s: the dead cookie is cleared", tc.name)
			b.cookie = cookie // the thief keeps trying with it
		}
	}
}
