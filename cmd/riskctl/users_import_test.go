package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

// importFile is a migration file with one user of each kind, and bad
// lines: not JSON, no email, a hash nobody reads, an address a native
// account has, the same external id twice.
var importFile = strings.Join([]string{
	`{"external_id":"auth0|1","email":"Bcrypt@Example.com","email_verified":true,"created_at":"2021-03-04T05:06:07Z","password_hash":"$2a$05$bvIG6Nmid91Mu9RcmmWZfO5HJIMCT8riNW0hEp8f6/FuA2/mHZFpe","totp_secret":"JBSWY3DPEHPK3PXP"}`,
	`{"external_id":"dj|2","email":"django@example.com","password_hash":"pbkdf2_sha256$10000$seasalt$CWWFdHOWwPnki7HvkcqN9iA2T3KLW1cf2uZ5kvArtVY="}`,
	`this is not json`,
	`{"external_id":"kc|3","email":"keycloak@example.com","keycloak":{"algorithm":"pbkdf2","iterations":4096,"salt":"c2FsdA==","value":"SwB5AbdlSJq+rUnZJvch0GWkKcE="}}`,
	`{"external_id":"fb|4","email":"firebase@example.com","firebase":{"salt":"42xEC+ixf3L2lw==","hash":"lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="}}`,
	`{"external_id":"db|5","email":"legacy@example.com","salted_sha":{"algorithm":"sha256","salt":"73616c74","hash":"13601bda4ea78e55a07b98866d2be6be0744e3866f13c00c811cab608a28f322","salt_first":true}}`,
	`{"external_id":"x|6"}`,
	`{"external_id":"x|7","email":"bad@example.com","password_hash":"$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"}`,
	`{"external_id":"x|8","email":"ann@example.com"}`,
	`{"external_id":"auth0|1","email":"twice@example.com"}`,
	``,
}, "\n")

const firebaseParamsJSON = `{"base64_signer_key":"jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==","base64_salt_separator":"Bw==","rounds":8,"mem_cost":14}`

func TestUsersImport(t *testing.T) {
	t.Parallel()
	url, _, srv := usersDaemon(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "users.jsonl")
	require.NoError(t, os.WriteFile(file, []byte(importFile), 0o600))
	params := filepath.Join(dir, "firebase.json")
	require.NoError(t, os.WriteFile(params, []byte(firebaseParamsJSON), 0o600))
	report := filepath.Join(dir, "report.json")
	run := func(args ...string) (int, string, string) {
		return riskctlUsers(t, url, usersTestAdmin, append([]string{"import", "-reason", "migration from Auth0, ticket 9", "-firebase-params", params}, args...)...)
	}

	// The dry run reports everything and writes nothing.
	code, out, errOut := run("-dry-run", "-report", report, file)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "lines 10: would create 5, existing 0, conflict 2, invalid 3")
	for _, s := range []string{"bcrypt", "django_pbkdf2", "pbkdf2", "firebase_scrypt", "salted_sha"} {
		assert.Contains(t, out, s)
	}
	assert.Contains(t, out, "weak hashes (salted SHA-2): 1 users")
	assert.Contains(t, out, "line 3: not a JSON object")
	assert.Contains(t, out, "line 7: email is required")
	assert.Contains(t, out, "line 8: ")
	assert.Contains(t, out, "line 9: the address")
	assert.NotContains(t, out, "bvIG6Nmid91Mu9Rc", "no hash in the report")
	var rep struct {
		Errors []struct{ Line int } `json:"errors"`
	}
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	assert.Len(t, rep.Errors, 5)
	_, err = srv.Accounts.UserByEmail(context.Background(), "bcrypt@example.com")
	require.ErrorIs(t, err, authn.ErrNotFound)

	// Interrupted after the first two lines: the checkpoint resumes it.
	require.NoError(t, os.WriteFile(file+".progress", []byte("2\n"), 0o600))
	code, out, errOut = run(file)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "resuming after line 2")
	assert.Contains(t, out, "lines 8: created 4, existing 0, conflict 1, invalid 3", "auth0|1 on line 10 is new: line 1 was skipped")
	_, err = os.Stat(file + ".progress")
	assert.ErrorIs(t, err, os.ErrNotExist, "the checkpoint goes once the file is done")

	// The whole file again: idempotent.
	code, out, errOut = run(file)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "lines 10: created 1, existing 5, conflict 1, invalid 3", "line 2 now; line 1 is line 10's account")
	code, out, _ = run(file)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "lines 10: created 0, existing 6, conflict 1, invalid 3")

	// The imported users sign in with their old passwords; the address
	// was normalised, the creation date and verified status kept, the
	// app sealed.
	ctx := context.Background()
	u, err := srv.Accounts.UserByEmail(ctx, "twice@example.com")
	require.NoError(t, err, "auth0|1 went in on the resumed run with the last line's address")
	assert.Empty(t, u.PasswordHash)
	for _, c := range []struct{ email, pw string }{
		{"django@example.com", "lètmein"}, {"keycloak@example.com", "password"},
		{"firebase@example.com", "user1password"}, {"legacy@example.com", "password"},
	} {
		res, err := srv.Authn.SignIn.Login(ctx, authn.LoginRequest{Identifier: c.email, Password: c.pw,
			Client: authn.Client{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}})
		require.NoError(t, err, c.email)
		assert.NotEmpty(t, res.Status, c.email)
		u, err := srv.Accounts.UserByEmail(ctx, c.email)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(u.PasswordHash, "$argon2id$"), "%s rehashed", c.email)
	}

	code, _, errOut = riskctlUsers(t, url, usersTestSupport, "import", "-reason", "x", file)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "insufficient_scope")
	code, _, _ = riskctlUsers(t, url, usersTestAdmin, "import", file)
	assert.Equal(t, 2, code, "no reason")
}
