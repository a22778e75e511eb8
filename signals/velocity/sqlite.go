package velocity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/leaf/privfile"
	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// SQLiteProfiles is a ProfileStore in a SQLite file (pure Go, no cgo), for
// the embedded single-process setup: profiles survive restarts. The file is
// in WAL mode with a busy timeout; every write goes through one connection
// (so concurrent sign-ins never fail with SQLITE_BUSY among themselves)
// while reads use a small pool. An LRU cache in front holds recently used
// profiles, including "no profile", so a warm Load does not touch SQLite;
// a Bloom filter of the users with a profile (knownUsers, filled from the
// file when it is opened) answers for identifiers that never signed in, so
// that a credential-stuffing list neither queries SQLite nor takes cache
// slots from real users. Only one process may write the file at a time:
// a profile written behind its back is not seen until it is reopened.
type SQLiteProfiles struct {
	path  string
	write *sql.DB
	read  *sql.DB
	// get is prepared once: a stuffing list is mostly identifiers never
	// seen before, each a cache miss, and parsing the query again for
	// every one of them cost as much as running it.
	get   *sql.Stmt
	cache *profileCache
	known *knownUsers
	// locks serialise, per user, filling the cache from a read with a Put,
	// so that a slow read never caches a profile older than the last Put.
	locks [64]sync.Mutex
}

var _ ProfileStore = (*SQLiteProfiles)(nil)

type sqliteOptions struct {
	cacheSize   int
	busyTimeout time.Duration
}

// SQLiteOption tunes NewSQLiteProfiles.
type SQLiteOption func(*sqliteOptions)

// WithProfileCacheSize sets how many profiles the cache holds
// (default DefaultProfileCacheSize).
func WithProfileCacheSize(n int) SQLiteOption {
	return func(o *sqliteOptions) { o.cacheSize = n }
}

// WithBusyTimeout sets how long SQLite waits for a lock held by another
// connection before failing (default 5s).
func WithBusyTimeout(d time.Duration) SQLiteOption {
	return func(o *sqliteOptions) { o.busyTimeout = d }
}

const sqliteSchema = `CREATE TABLE IF NOT EXISTS velocity_profiles (
	user_key   TEXT PRIMARY KEY,
	profile    TEXT NOT NULL,
	last_login INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID`

// NewSQLiteProfiles opens (creating when needed, 0600) the profile
// database at path. Close it when done.
func NewSQLiteProfiles(path string, opts ...SQLiteOption) (*SQLiteProfiles, error) {
	o := sqliteOptions{cacheSize: DefaultProfileCacheSize, busyTimeout: 5 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("velocity sqlite: invalid path %q", path)
	}
	if o.cacheSize <= 0 {
		o.cacheSize = DefaultProfileCacheSize
	}
	// Users' sign-in histories: 0600, and so the -wal and -shm files.
	if err := privfile.SQLite(path); err != nil {
		return nil, fmt.Errorf("velocity sqlite: %w", err)
	}
	params := fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)",
		max(o.busyTimeout.Milliseconds(), 1))
	// secure_delete: an erased user's profile is overwritten with zeros,
	// not left in free space (Delete then empties the WAL).
	write, err := sql.Open("sqlite", path+params+"&_pragma=secure_delete(1)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("velocity sqlite: open: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if _, err := write.Exec(sqliteSchema); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("velocity sqlite: create schema: %w", err)
	}
	read, err := sql.Open("sqlite", path+params+"&_pragma=query_only(1)")
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("velocity sqlite: open reader: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	get, err := read.Prepare(`SELECT profile FROM velocity_profiles WHERE user_key = ?`)
	if err != nil {
		_ = errors.Join(read.Close(), write.Close())
		return nil, fmt.Errorf("velocity sqlite: prepare: %w", err)
	}
	s := &SQLiteProfiles{path: path, write: write, read: read, get: get, cache: newProfileCache(o.cacheSize)}
	if s.known, err = loadKnownUsers(read); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// loadKnownUsers fills a knownUsers with every user in the file, sized
// for twice as many. It reads the primary key only: about 1 s per million
// profiles at open on the project machine.
func loadKnownUsers(db *sql.DB) (*knownUsers, error) {
	var n uint
	if err := db.QueryRow(`SELECT count(*) FROM velocity_profiles`).Scan(&n); err != nil {
		return nil, fmt.Errorf("velocity sqlite: count profiles: %w", err)
	}
	k := newKnownUsers(2 * n)
	rows, err := db.Query(`SELECT user_key FROM velocity_profiles`)
	if err != nil {
		return nil, fmt.Errorf("velocity sqlite: list profiles: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var user string
		if err := rows.Scan(&user); err != nil {
			return nil, fmt.Errorf("velocity sqlite: list profiles: %w", err)
		}
		k.add(user)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("velocity sqlite: list profiles: %w", err)
	}
	return k, nil
}

func (s *SQLiteProfiles) lock(user string) *sync.Mutex {
	return &s.locks[xxhash.Sum64String(user)%uint64(len(s.locks))]
}

// Get returns a copy of the user's profile, zero when there is none. It
// reads SQLite only on a cache miss for a user who may have a profile.
func (s *SQLiteProfiles) Get(ctx context.Context, user string) (engine.Profile, error) {
	if p, ok := s.cache.get(user); ok {
		return cloneProfile(p), nil
	}
	if !s.known.mayContain(user) {
		return engine.Profile{}, nil
	}
	mu := s.lock(user)
	mu.Lock()
	defer mu.Unlock()
	if p, ok := s.cache.get(user); ok {
		return cloneProfile(p), nil
	}
	var data []byte
	err := s.get.QueryRowContext(ctx, user).Scan(&data)
	var p engine.Profile
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return engine.Profile{}, fmt.Errorf("velocity sqlite: read profile: %w", err)
	default:
		if err := json.Unmarshal(data, &p); err != nil {
			return engine.Profile{}, fmt.Errorf("velocity sqlite: %w: %w", errCorruptProfile, err)
		}
	}
	s.cache.add(user, p)
	return cloneProfile(p), nil
}

// Put writes the user's profile through to SQLite, then to the cache.
func (s *SQLiteProfiles) Put(ctx context.Context, user string, p engine.Profile) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("velocity sqlite: encode profile: %w", err)
	}
	var last int64
	if p.Last != nil {
		last = p.Last.At.Unix()
	}
	mu := s.lock(user)
	mu.Lock()
	defer mu.Unlock()
	// Before the write: a Get that misses the cache from now on reads the
	// file (after this Put, which holds the user's lock).
	s.known.add(user)
	if _, err := s.write.ExecContext(ctx, `INSERT INTO velocity_profiles (user_key, profile, last_login) VALUES (?, ?, ?)
		ON CONFLICT (user_key) DO UPDATE SET profile = excluded.profile, last_login = excluded.last_login`,
		user, string(data), last); err != nil {
		s.cache.remove(user)
		return fmt.Errorf("velocity sqlite: write profile: %w", err)
	}
	s.cache.add(user, cloneProfile(p))
	return nil
}

// Ping checks that the database answers.
func (s *SQLiteProfiles) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("velocity sqlite: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *SQLiteProfiles) Close() error {
	return errors.Join(s.get.Close(), s.read.Close(), s.write.Close())
}
