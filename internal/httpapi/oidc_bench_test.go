package httpapi_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// TestOIDCMeasure measures the provider as a relying party pays for it,
// over loopback HTTP with the real engine, sign-in service and SQLite
// store, one request at a time, and logs the figures (docs/benchmarks.md).
// It asserts nothing about speed and runs only when asked:
//
//	RISKAUTH_OIDC_MEASURE=300 go test ./internal/httpapi -run TestOIDCMeasure -v
//
// direct sign-in: POST /v1/login with the password (argon2id at the
// tests' small parameters), the baseline. authorize (SSO): the browser
// part of an authorization for a browser holding a riskauth session:
// /authorize, the login page's single sign-on, the callback, the code.
// code exchange: the token endpoint (code, ID, access and refresh
// tokens). refresh: one refresh with rotation.
func TestOIDCMeasure(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("RISKAUTH_OIDC_MEASURE"))
	if n <= 0 {
		t.Skip("measurement: set RISKAUTH_OIDC_MEASURE to the number of rounds")
	}
	// The default rules rightly step up hundreds of sign-ins and
	// authorizations of one account a second: the measurement runs the
	// whole engine pipeline with one rule that never matches.
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte("version: 1\nthresholds: { step_up: 40, block: 80 }\nrules:\n  - id: never\n    description: never matches\n    when: event.kind == \"never\"\n    score: 1\n"), 0o600))
	e := newOIDCEnvRules(t, path)
	const email = "measure@example.com"
	e.browser().register(email)
	r := e.rp(rpConfidential, rpSecret, rpRedirect, "email", "offline_access")
	ua := e.userAgent()
	ua.authorize(r.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), email)

	measure := func(name string, fn func()) {
		fn() // warm
		start := time.Now()
		for range n {
			fn()
		}
		per := time.Since(start) / time.Duration(n)
		t.Logf("%-22s %8.0f µs/op %8.0f ops/s", name, float64(per.Microseconds()), float64(time.Second)/float64(per))
	}
	codes := make(chan [2]string, 2*n+2)
	measure("authorize (SSO)", func() {
		v := oauth2.GenerateVerifier()
		p := ua.get(r.conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
		require.Equal(t, http.StatusFound, p.status, "%s", p.url)
		codes <- [2]string{codeOf(t, p.location), v}
	})
	var refresh string
	measure("code exchange", func() {
		c := <-codes
		tok, err := r.conf.Exchange(r.ctx, c[0], oauth2.VerifierOption(c[1]))
		require.NoError(t, err)
		refresh = tok.RefreshToken
	})
	measure("refresh (rotation)", func() {
		tok, err := r.conf.TokenSource(r.ctx, &oauth2.Token{RefreshToken: refresh, Expiry: time.Now().Add(-time.Minute)}).Token()
		require.NoError(t, err)
		refresh = tok.RefreshToken
	})
	measure("direct sign-in", func() {
		b := e.browser()
		res := b.post("/v1/login", map[string]any{"identifier": email, "password": userPassword})
		require.Equal(t, http.StatusOK, res.status)
	})
}

func codeOf(t *testing.T, location string) string {
	t.Helper()
	u, err := http.NewRequest(http.MethodGet, location, nil)
	require.NoError(t, err)
	c := u.URL.Query().Get("code")
	require.NotEmpty(t, c, location)
	return c
}
