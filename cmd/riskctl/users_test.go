package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/daemon"
)

const (
	usersTestAdmin   = "riskctl-admin-key-0123456789"
	usersTestSupport = "riskctl-helpd-key-0123456789"
)

// usersServer is a whole riskauthd on loopback (SQLite in a temp dir)
// with an administrator's and a helpdesk's key, and three accounts.
func usersServer(t *testing.T) (string, []authn.User) {
	t.Helper()
	url, users, _ := usersDaemon(t)
	return url, users
}

// usersDaemon is usersServer with the daemon itself.
func usersDaemon(t *testing.T) (string, []authn.User, *daemon.Server) {
	t.Helper()
	env := map[string]string{
		"RISKAUTH_DATA_DIR": t.TempDir(), "RISKAUTH_API_KEYS": "test-key-0123456789",
		"RISKAUTH_ADMIN_API_KEYS":       "alice:" + usersTestAdmin + ",helpdesk:" + usersTestSupport,
		"RISKAUTH_ADMIN_API_KEY_SCOPES": "alice=users:admin;helpdesk=users:read",
	}
	cfg, err := config.Load("", func(k string) string { return env[k] })
	require.NoError(t, err)
	srv, err := daemon.Build(context.Background(), cfg, daemon.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.API.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.API.Shutdown(ctx)
		srv.Close()
	})
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	var users []authn.User
	for i, email := range []string{"ann@example.com", "ben@example.com", "cid@example.org"} {
		at := t0.Add(time.Duration(i) * time.Hour)
		u := authn.User{ID: uuid.NewString(), Email: email, CreatedAt: at, UpdatedAt: at, EmailVerifiedAt: at}
		require.NoError(t, srv.Accounts.CreateUser(context.Background(), u))
		users = append(users, u)
	}
	return "http://" + ln.Addr().String(), users, srv
}

// riskctl runs `riskctl users args...` with the key given.
func riskctlUsers(t *testing.T, url, key string, args ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{"RISKAUTH_URL": url, "RISKAUTH_ADMIN_KEY": key}
	var out, errOut bytes.Buffer
	code := usersCmd(args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsersCommands(t *testing.T) {
	t.Parallel()
	url, users := usersServer(t)
	ann, ben := users[0], users[1]

	code, out, errOut := riskctlUsers(t, url, usersTestSupport, "search", "-email", "ann@")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, ann.ID)
	assert.Contains(t, out, "active")
	assert.NotContains(t, out, ben.ID)

	code, out, errOut = riskctlUsers(t, url, usersTestSupport, "search", "-limit", "2")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, 3, strings.Count(out, "\n"), "a header and one page of two: %s", out)
	assert.Contains(t, errOut, "-all")
	code, out, _ = riskctlUsers(t, url, usersTestSupport, "search", "-limit", "2", "-all", "-json")
	require.Equal(t, 0, code)
	assert.Equal(t, 3, strings.Count(out, "\n"), "every page: %s", out)

	code, out, errOut = riskctlUsers(t, url, usersTestSupport, "show", ann.ID)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "ann@example.com")
	assert.Contains(t, out, "authenticator app")

	// The helpdesk key lacks the scope: the API's 403 is shown as is.
	code, _, errOut = riskctlUsers(t, url, usersTestSupport, "disable", "-reason", "fraud", ben.ID)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "insufficient_scope")
	assert.Contains(t, errOut, "users:admin")

	code, _, errOut = riskctlUsers(t, url, usersTestAdmin, "disable", ben.ID)
	assert.Equal(t, 2, code, "no reason, no call")
	assert.Contains(t, errOut, "-reason")

	code, out, errOut = riskctlUsers(t, url, usersTestAdmin, "disable", "-reason", "ticket 12: fraud confirmed", ben.ID)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "changed=true")
	code, out, errOut = riskctlUsers(t, url, usersTestAdmin, "revoke", ben.ID, "-reason", "ticket 12")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "revoke_sessions")

	code, out, errOut = riskctlUsers(t, url, usersTestAdmin, "export", "-status", "disabled")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 1)
	var u map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &u))
	assert.Equal(t, ben.ID, u["id"])
	assert.Contains(t, errOut, "1 accounts exported")

	code, _, errOut = riskctlUsers(t, url, usersTestAdmin, "show", "no-such-id")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "404 not_found")

	for _, args := range [][]string{{}, {"bogus"}, {"show"}, {"unlock", "-reason", "x"}} {
		code, _, _ := riskctlUsers(t, url, usersTestAdmin, args...)
		assert.Equal(t, 2, code, "%v", args)
	}
	code, _, errOut = riskctlUsers(t, url, "", "search")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "RISKAUTH_ADMIN_KEY")
	code, _, _ = riskctlUsers(t, "ftp://x", usersTestAdmin, "search")
	assert.Equal(t, 2, code, "bad url")
}
