package daemon

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// erasureConfig makes the grace period a millisecond, so that the test
// can run the job right after the request.
const erasureConfig = `
engine:
  deadline: 10s
authn:
  account:
    deletion_grace: 1ms
`

// eraseAfterUse runs a user through the service (registration, sign-ins
// from two devices, a profile, a wrong password, a data export) and then
// through erasure: the request, the job's round, the sink's and the
// mailer's flush. It returns the user's id and address, which nothing may
// hold any more.
func eraseAfterUse(t *testing.T, base string, srv *Server, dir string) (string, string) {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	email := "erase-" + hex.EncodeToString(b[:]) + "@example.com"
	a := &app{t: t, base: base}
	code, m := a.call(http.MethodPost, "/v1/register", map[string]any{"email": email, "password": userPassword})
	require.Equal(t, http.StatusAccepted, code, "%v", m)
	code, m = a.call(http.MethodPost, "/v1/verify-email", map[string]any{"token": verifyToken(t, srv, filepath.Join(dir, mail.OutboxFile), email),
		"registration_secret": m["registration_secret"]})
	require.Equal(t, http.StatusOK, code, "%v", m)
	code, m = a.call(http.MethodPost, "/v1/login", map[string]any{"identifier": email, "password": "not the password at all"})
	require.Equal(t, http.StatusUnauthorized, code, "%v", m)
	for _, dev := range []string{"erase-laptop-0001", "erase-laptop-0001"} {
		code, m = a.call(http.MethodPost, "/v1/login", map[string]any{"identifier": email, "password": userPassword,
			"client": map[string]any{"device": map[string]any{"cookie_id": dev}}})
		require.Equal(t, http.StatusOK, code, "%v", m)
		require.Equal(t, "authenticated", m["status"], "%v", m)
	}
	code, m = a.call(http.MethodGet, "/v1/session", nil)
	require.Equal(t, http.StatusOK, code, "%v", m)
	userID := m["user_id"].(string)
	code, m = a.call(http.MethodPost, "/v1/account/export", nil)
	require.Equal(t, http.StatusAccepted, code, "%v", m)

	code, m = a.call(http.MethodDelete, "/v1/account", nil)
	require.Equal(t, http.StatusAccepted, code, "%v", m)
	require.NoError(t, srv.Authn.Flush(context.Background()))
	time.Sleep(5 * time.Millisecond) // past the 1 ms grace
	n, ran, err := srv.Erasure.RunOnce(context.Background())
	require.NoError(t, err)
	require.True(t, ran)
	require.Equal(t, 1, n)
	// The sink forgets in order, after what was queued: closing it
	// drains the queue.
	require.NoError(t, srv.Sink.Close(context.Background()))
	return userID, email
}

// scanDir fails for every file under dir whose bytes contain one of
// needles.
func scanDir(t *testing.T, dir string, needles ...string) {
	t.Helper()
	files := 0
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, n := range needles {
			// Not assert.NotContains: it would print the whole file.
			assert.False(t, bytes.Contains(b, []byte(n)), "%s holds %q", path, n)
		}
		return nil
	}))
	require.Positive(t, files)
}

// TestErasureLeavesNothingEmbedded: after an erasure on the embedded
// stores (SQLite in the data dir, the engine's state in memory with its
// profiles in SQLite, the JSONL trail and the mail outbox), no file under
// the data dir holds the user's id or address. SQLite keeps deleted bytes
// in free space and in the WAL unless told: the stores run with
// secure_delete and truncate the WAL after an erasure.
func TestErasureLeavesNothingEmbedded(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(erasureConfig), 0o600))
	base, srv := start(t, cfgFile, map[string]string{"RISKAUTH_DATA_DIR": dir})
	id, email := eraseAfterUse(t, base, srv, dir)
	scanDir(t, dir, id, email)
}

// TestErasureLeavesNothingShared: the same on PostgreSQL and Redis: no
// table (dumped as text), no Redis key or value, and no file under the
// data dir holds the user's id or address.
func TestErasureLeavesNothingShared(t *testing.T) {
	pgURL := testenv.Require(t, testenv.EnvPostgresURL)
	addr := testenv.RedisAddr(t)
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, pgURL)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(context.Background())
	})
	sep := "?"
	if strings.Contains(pgURL, "?") {
		sep = "&"
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(cfgFile, []byte(erasureConfig), 0o600))
	base, srv := start(t, cfgFile, map[string]string{"RISKAUTH_DATA_DIR": dir, "RISKAUTH_REDIS_URL": "redis://" + addr + "/0",
		"RISKAUTH_DATABASE_URL": pgURL + sep + "search_path=" + schema})
	id, email := eraseAfterUse(t, base, srv, dir)
	scanDir(t, dir, id, email)

	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, schema)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, tables, "users")
	for _, tbl := range tables {
		rows, err := conn.Query(ctx, `SELECT t::text FROM `+schema+`.`+pgx.Identifier{tbl}.Sanitize()+` t`)
		require.NoError(t, err)
		dump, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		all := strings.Join(dump, "\n")
		assert.NotContains(t, all, id, "table %s", tbl)
		assert.NotContains(t, all, email, "table %s", tbl)
	}

	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	keys := 0
	iter := rc.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		keys++
		assert.NotContains(t, k, id, "a Redis key")
		assert.NotContains(t, k, email, "a Redis key")
		var vals []string
		switch typ := rc.Type(ctx, k).Val(); typ {
		case "string":
			vals = []string{rc.Get(ctx, k).Val()}
		case "hash":
			for f, v := range rc.HGetAll(ctx, k).Val() {
				vals = append(vals, f, v)
			}
		case "zset":
			vals = rc.ZRange(ctx, k, 0, -1).Val()
		case "set":
			vals = rc.SMembers(ctx, k).Val()
		case "list":
			vals = rc.LRange(ctx, k, 0, -1).Val()
		}
		for _, v := range vals {
			assert.NotContains(t, v, id, "the value of %s", k)
			assert.NotContains(t, v, email, "the value of %s", k)
		}
	}
	require.NoError(t, iter.Err())
	require.Positive(t, keys, "the engine kept state in Redis")
}
