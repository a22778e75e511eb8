package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/store"
	"github.com/riskauth/riskauth/internal/leaf/backend"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

// short is a deadline the tests below expect to fire: the database is
// held on purpose, so no machine is fast enough to answer within it.
const short = 100 * time.Millisecond

// requireUnavailable checks that err is a backend failure of the kind.
func requireUnavailable(t *testing.T, err error, backendName, kind string) {
	t.Helper()
	require.ErrorIs(t, err, backend.ErrUnavailable)
	be, ok := backend.As(err)
	require.True(t, ok)
	assert.Equal(t, backendName, be.Backend)
	assert.Equal(t, kind, be.Kind)
	assert.False(t, errors.Is(err, authn.ErrNotFound), "an outage is never read as a missing row")
}

// TestSQLiteDeadline: a write that cannot get the database (another
// process holds its write lock) fails as unavailable instead of waiting;
// reads go on beside it (WAL), and writes work again once the lock is
// released.
func TestSQLiteDeadline(t *testing.T) {
	t.Parallel()
	ctx := testenv.Context(t)
	path := filepath.Join(t.TempDir(), "authn.db")
	// Two handles on the file: a patient one for what must succeed
	// however loaded the machine, and one whose writes give up quickly.
	patient, err := store.OpenSQLite(ctx, path, store.SQLiteOptions{Timeouts: store.Timeouts{Read: testenv.Budget, Write: testenv.Budget}})
	require.NoError(t, err)
	defer patient.Close()
	s, err := store.OpenSQLite(ctx, path, store.SQLiteOptions{Timeouts: store.Timeouts{Read: testenv.Budget, Write: short}})
	require.NoError(t, err)
	defer s.Close()
	u := authn.User{ID: "u1", Email: "a@example.com", CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	require.NoError(t, patient.CreateUser(ctx, u))

	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer other.Close()
	conn, err := other.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	require.NoError(t, err)

	u2 := u
	u2.ID, u2.Email = "u2", "b@example.com"
	requireUnavailable(t, s.CreateUser(ctx, u2), "sqlite", backend.KindTimeout)
	got, err := s.UserByEmail(ctx, u.Email)
	require.NoError(t, err, "reads do not wait for the writer")
	assert.Equal(t, u.ID, got.ID)

	_, err = conn.ExecContext(ctx, "ROLLBACK")
	require.NoError(t, err)
	require.NoError(t, patient.CreateUser(ctx, u2), "writes work again once the lock is gone")
}

// TestPostgresDeadline: with the users table locked by another session
// (a hung database, as far as these reads are concerned) and one pooled
// connection, the read that holds the connection and the reads waiting
// for it all fail as unavailable by their deadline; the store recovers
// when the lock goes.
func TestPostgresDeadline(t *testing.T) {
	t.Parallel()
	url, schema := pgTestSchema(t)
	ctx := testenv.Context(t)
	patient, err := store.OpenPostgres(ctx, url, store.PostgresOptions{SearchPath: schema,
		Timeouts: store.Timeouts{Read: testenv.Budget, Write: testenv.Budget}})
	require.NoError(t, err)
	defer patient.Close()
	s, err := store.OpenPostgres(ctx, url, store.PostgresOptions{SearchPath: schema, MaxConns: 1,
		Timeouts: store.Timeouts{Read: short, Write: short}})
	require.NoError(t, err)
	defer s.Close()
	u := authn.User{ID: "u1", Email: "a@example.com", CreatedAt: time.Now().UTC(), UpdatedAt: time.Now().UTC()}
	require.NoError(t, patient.CreateUser(ctx, u))

	locker := pgAdmin(t, ctx, url, schema)
	defer locker.Close(context.Background())
	tx, err := locker.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)

	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.UserByEmail(ctx, u.Email) })
	}
	wg.Wait()
	for _, err := range errs {
		requireUnavailable(t, err, "postgres", backend.KindTimeout)
	}
	requireUnavailable(t, s.SetDisabled(ctx, u.ID, true, time.Now()), "postgres", backend.KindTimeout)

	require.NoError(t, tx.Rollback(ctx))
	// The short-deadline store recovers by itself; a loaded machine may
	// take a few tries to answer one read within 100ms.
	testenv.Eventually(t, "reads to work again", func() bool {
		got, err := s.UserByEmail(ctx, u.Email)
		return err == nil && got.ID == u.ID
	})
}
