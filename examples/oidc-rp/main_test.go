package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExample runs the example against a discovery document: it sends the
// browser to the provider with PKCE (S256), state and nonce, keeps them in
// a cookie named by the state, and its protected page refuses a callback
// that is not this browser's sign-in. (The whole flow against riskauth is
// what internal/httpapi's OIDC tests run with the same two libraries.)
func TestExample(t *testing.T) {
	var issuer string
	disc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": issuer, "authorization_endpoint": issuer + "/oauth/authorize",
			"token_endpoint": issuer + "/oauth/token", "jwks_uri": issuer + "/.well-known/jwks.json"})
	}))
	t.Cleanup(disc.Close)
	issuer = disc.URL
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	t.Setenv("ISSUER", issuer)
	t.Setenv("CLIENT_ID", "web-app")
	t.Setenv("ADDR", addr)
	go main()

	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var res *http.Response
	require.Eventually(t, func() bool {
		res, err = client.Get("http://" + addr + "/")
		return err == nil
	}, 60*time.Second, 50*time.Millisecond, "the example listens")
	require.NoError(t, res.Body.Close())
	require.Equal(t, http.StatusFound, res.StatusCode)
	to, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	q := to.Query()
	assert.Equal(t, issuer+"/oauth/authorize", to.Scheme+"://"+to.Host+to.Path)
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.Equal(t, "http://"+addr+"/callback", q.Get("redirect_uri"))
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		assert.NotEmpty(t, q.Get(k), k)
	}
	require.Len(t, res.Cookies(), 1)
	kept := res.Cookies()[0]
	assert.Equal(t, "rp-"+q.Get("state"), kept.Name)
	assert.True(t, strings.HasPrefix(kept.Value, q.Get("nonce")), "the cookie holds the nonce, then the verifier")
	assert.True(t, kept.HttpOnly)

	for _, tc := range []struct {
		name, state string
		cookie      bool
	}{
		{"no cookie", q.Get("state"), false},
		{"another state", "FORGED", true},
		{"no state", "", true},
		{"this browser's state, a code the provider refuses", q.Get("state"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/callback?code=x&state="+url.QueryEscape(tc.state), nil)
			require.NoError(t, err)
			if tc.cookie {
				req.AddCookie(kept)
			}
			res, err := client.Do(req)
			require.NoError(t, err)
			require.NoError(t, res.Body.Close())
			assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
		})
	}
}
