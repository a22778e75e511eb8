package storetest

import (
	"sync"
	"testing"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testMigrations(t *testing.T, newDB NewDatabase) {
	t.Run("reopen is idempotent and keeps data", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		ctx := t.Context()
		s, err := db.Open(ctx)
		require.NoError(t, err)
		u := mkUser(t, s, "persist@example.com")
		require.NoError(t, s.Close())
		before, err := db.QueryInt(ctx, `SELECT count(*) FROM schema_migrations`)
		require.NoError(t, err)
		require.Positive(t, before)

		s, err = db.Open(ctx)
		require.NoError(t, err)
		defer s.Close()
		got, err := s.UserByEmail(ctx, u.Email)
		require.NoError(t, err)
		assert.Equal(t, u.ID, got.ID)
		after, err := db.QueryInt(ctx, `SELECT count(*) FROM schema_migrations`)
		require.NoError(t, err)
		assert.Equal(t, before, after)
	})
	t.Run("schema too new", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		ctx := t.Context()
		s, err := db.Open(ctx)
		require.NoError(t, err)
		require.NoError(t, s.Close())
		require.NoError(t, db.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at)
			SELECT 9999, 'from_the_future', applied_at FROM schema_migrations WHERE version = 1`))
		_, err = db.Open(ctx)
		assert.ErrorIs(t, err, authn.ErrSchemaTooNew)
	})
	t.Run("concurrent opens of a fresh database", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		ctx := t.Context()
		stores := make([]Store, 4)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range stores {
			wg.Go(func() { stores[i], errs[i] = db.Open(ctx) })
		}
		wg.Wait()
		for i := range stores {
			require.NoError(t, errs[i], "open %d", i)
			defer stores[i].Close()
		}
		n, err := db.QueryInt(ctx, `SELECT count(*) FROM schema_migrations`)
		require.NoError(t, err)
		d, err := db.QueryInt(ctx, `SELECT count(DISTINCT version) FROM schema_migrations`)
		require.NoError(t, err)
		assert.Equal(t, d, n, "each migration recorded once")
		mkUser(t, stores[3], "after-race@example.com")
	})
}
