package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riskauth/riskauth/authn/store"
	"github.com/riskauth/riskauth/authn/store/storetest"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/require"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newSQLiteDB)
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	testenv.Require(t, testenv.EnvPostgresURL)
	storetest.Run(t, newPostgresDB)
}

func BenchmarkSignIn(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		s, err := newSQLiteDB(b).Open(b.Context())
		require.NoError(b, err)
		defer s.Close()
		storetest.BenchSignIn(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		testenv.Require(b, testenv.EnvPostgresURL)
		s, err := newPostgresDB(b).Open(b.Context())
		require.NoError(b, err)
		defer s.Close()
		storetest.BenchSignIn(b, s)
	})
}

// BenchmarkIssueTokenPending is BenchPendingTokens on both stores: the
// store work of a reset request for an unknown address with 10k unused
// tokens in the table (docs/benchmarks.md).
func BenchmarkIssueTokenPending(b *testing.B) {
	for _, c := range []struct {
		name  string
		newDB storetest.NewDatabase
	}{{"sqlite", newSQLiteDB}, {"postgres", newPostgresDB}} {
		for _, pending := range []int{0, storetest.PendingTokens} {
			b.Run(fmt.Sprintf("%s/pending=%d", c.name, pending), func(b *testing.B) {
				if c.name == "postgres" {
					testenv.Require(b, testenv.EnvPostgresURL)
				}
				s, err := c.newDB(b).Open(b.Context())
				require.NoError(b, err)
				defer s.Close()
				storetest.BenchPendingTokens(b, s, pending)
			})
		}
	}
}

// newSQLiteDB is a database file in the test's temporary directory.
// patient are the deadlines of the conformance suite's stores: what the
// suite checks does not depend on how fast a loaded machine answers
// (deadline_test.go checks the deadlines).
var patient = store.Timeouts{Read: testenv.Budget, Write: testenv.Budget}

func newSQLiteDB(tb testing.TB) storetest.Database {
	path := filepath.Join(tb.TempDir(), "authn.db")
	raw := func(ctx context.Context) *sql.DB {
		db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
		require.NoError(tb, err)
		return db
	}
	return storetest.Database{
		Open: func(ctx context.Context) (storetest.Store, error) {
			return store.OpenSQLite(ctx, path, store.SQLiteOptions{Timeouts: patient})
		},
		Exec: func(ctx context.Context, query string) error {
			db := raw(ctx)
			defer db.Close()
			_, err := db.ExecContext(ctx, query)
			return err
		},
		QueryInt: func(ctx context.Context, query string) (int64, error) {
			db := raw(ctx)
			defer db.Close()
			var n int64
			err := db.QueryRowContext(ctx, query).Scan(&n)
			return n, err
		},
	}
}

// newPostgresDB is a schema of its own on the test server, dropped when
// the test ends, so tests run in parallel without seeing each other.
func newPostgresDB(tb testing.TB) storetest.Database {
	url, schema := pgTestSchema(tb)
	admin := func(ctx context.Context, searchPath string) *pgx.Conn { return pgAdmin(tb, ctx, url, searchPath) }
	return storetest.Database{
		Open: func(ctx context.Context) (storetest.Store, error) {
			return store.OpenPostgres(ctx, url, store.PostgresOptions{SearchPath: schema, MaxConns: 16, Timeouts: patient})
		},
		Exec: func(ctx context.Context, query string) error {
			c := admin(ctx, schema)
			defer c.Close(ctx)
			_, err := c.Exec(ctx, query)
			return err
		},
		QueryInt: func(ctx context.Context, query string) (int64, error) {
			c := admin(ctx, schema)
			defer c.Close(ctx)
			var n int64
			err := c.QueryRow(ctx, query).Scan(&n)
			return n, err
		},
	}
}

// pgTestSchema creates a schema of its own on the test server, dropped
// when the test ends.
func pgTestSchema(tb testing.TB) (url, schema string) {
	url = testenv.Require(tb, testenv.EnvPostgresURL)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema = "t_" + hex.EncodeToString(b[:])
	c := pgAdmin(tb, tb.Context(), url, "")
	_, err := c.Exec(tb.Context(), `CREATE SCHEMA `+schema)
	require.NoError(tb, err)
	_ = c.Close(tb.Context())
	tb.Cleanup(func() {
		ctx := context.Background()
		c := pgAdmin(tb, ctx, url, "")
		defer c.Close(ctx)
		_, err := c.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
		require.NoError(tb, err)
	})
	return url, schema
}

// pgAdmin connects to the test server behind the store's back.
func pgAdmin(tb testing.TB, ctx context.Context, url, searchPath string) *pgx.Conn {
	cfg, err := pgx.ParseConfig(url)
	require.NoError(tb, err)
	if searchPath != "" {
		cfg.RuntimeParams["search_path"] = searchPath
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	require.NoError(tb, err)
	return c
}
