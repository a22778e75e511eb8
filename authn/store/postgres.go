package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// Postgres is the store for many instances sharing one PostgreSQL
// database. Safe for concurrent use.
type Postgres struct {
	db *pgDB
}

// Interface guards: the Postgres store serves every authn store interface.
var (
	_ authn.UserStore         = (*Postgres)(nil)
	_ authn.TOTPStore         = (*Postgres)(nil)
	_ authn.RecoveryCodeStore = (*Postgres)(nil)
	_ authn.SessionStore      = (*Postgres)(nil)
	_ authn.SessionManager    = (*Postgres)(nil)
	_ authn.Sweeper           = (*Postgres)(nil)
	_ authn.TokenStore        = (*Postgres)(nil)
	_ authn.FlowStore         = (*Postgres)(nil)
	_ authn.AttemptStore      = (*Postgres)(nil)
	_ authn.EventCounter      = (*Postgres)(nil)
	_ authn.FlowClientStore   = (*Postgres)(nil)
)

// PostgresOptions tunes OpenPostgres; the zero value is a sensible default.
type PostgresOptions struct {
	// MaxConns bounds the connection pool; default max(4, 2*GOMAXPROCS).
	// A call that cannot get a connection within its deadline fails with
	// backend.ErrUnavailable.
	MaxConns int
	// Timeouts bound every call (DefaultReadTimeout, DefaultWriteTimeout).
	Timeouts Timeouts
	// Metrics counts the database's failures
	// (riskauth_backend_errors_total{backend="postgres"}); nil counts none.
	Metrics *backend.Metrics
	// SearchPath, when set, is the search_path of every connection: the
	// schema the tables live in (tests give each run its own schema).
	// Otherwise the URL's or the server's default applies.
	SearchPath string
}

// pgMigrationLock takes the advisory lock held while migrating, per
// schema, so instances starting together serialise while unrelated schemas
// on one server do not wait for each other.
const pgMigrationLock = `SELECT pg_advisory_xact_lock(hashtextextended('riskauth/authn/store:' || coalesce(current_schema(), ''), 0))`

// OpenPostgres connects to the database at url (a postgres:// URL or DSN)
// and applies pending migrations. It fails with authn.ErrSchemaTooNew when
// the schema was migrated by a newer binary. Close it when done.
func OpenPostgres(ctx context.Context, url string, opts PostgresOptions) (*Postgres, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may echo the URL, password included.
		return nil, errors.New("store: postgres: invalid connection URL")
	}
	if opts.SearchPath != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = opts.SearchPath
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	cfg.MaxConns = int32(opts.MaxConns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, errors.New("store: postgres: invalid pool configuration")
	}
	opts.Metrics.Init("postgres")
	s := &Postgres{db: &pgDB{pool: pool, t: opts.Timeouts.withDefaults(), m: opts.Metrics}}
	if err := s.migrate(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the connection pool. It returns an error only to be an
// io.Closer like the SQLite store; closing the pool cannot fail.
func (s *Postgres) Close() error {
	s.db.Close()
	return nil
}

// Ping checks that the database answers, for readiness probes.
func (s *Postgres) Ping(ctx context.Context) error {
	if _, err := s.db.Exec(ctx, `SELECT 1`); err != nil {
		return fmt.Errorf("store: postgres: %w", err)
	}
	return nil
}

// migrate applies pending migrations, each in its own transaction holding
// the advisory lock; re-checking inside the lock makes concurrent starters
// apply each migration exactly once.
func (s *Postgres) migrate(ctx context.Context) error {
	ms, err := loadMigrations("postgres")
	if err != nil {
		return err
	}
	var applied map[int64]bool
	err = s.db.inTx(ctx, true, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, pgMigrationLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    bigint PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL
		)`); err != nil {
			return err
		}
		applied, err = pgAppliedVersions(ctx, tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if err := checkKnown(ms, applied); err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		err := s.db.inTx(ctx, true, func(ctx context.Context, tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, pgMigrationLock); err != nil {
				return err
			}
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`,
				m.version).Scan(&done); err != nil || done {
				return err
			}
			// No arguments: pgx sends the file with the simple protocol,
			// which allows several statements.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			// The database's clock, not ours: applied_at is bookkeeping.
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())`,
				m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migrate: %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

func pgAppliedVersions(ctx context.Context, tx pgx.Tx) (map[int64]bool, error) {
	rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	applied := make(map[int64]bool, len(vs))
	for _, v := range vs {
		applied[v] = true
	}
	return applied, nil
}

// inTx runs fn in a transaction under the write deadline, committing when
// it returns nil; fn uses the context it is given.
func (s *Postgres) inTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return s.db.inTx(ctx, false, fn)
}

// Nullable values travel as nil; times come back in UTC.

func pgNullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func pgTime(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return p.UTC()
}

// pgNotFound maps pgx.ErrNoRows to authn.ErrNotFound.
func pgNotFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return authn.ErrNotFound
	}
	return err
}

// pgAffected returns ErrNotFound when the statement changed no row.
func pgAffected(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return authn.ErrNotFound
	}
	return nil
}
