package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn/store"
)

// StoreConfig bounds the account store's calls and connections, for
// SQLite and PostgreSQL alike (authn.database in the file). Zero fields
// take the defaults: reads 500ms, writes 2s (store.DefaultReadTimeout,
// store.DefaultWriteTimeout), max(4, 2*GOMAXPROCS) PostgreSQL connections
// and max(4, GOMAXPROCS) SQLite readers.
type StoreConfig struct {
	// ReadTimeout bounds a read, the wait for a connection included
	// (RISKAUTH_DATABASE_READ_TIMEOUT); past it the request answers 503
	// unavailable.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds a write or a transaction, the wait for a
	// connection included (RISKAUTH_DATABASE_WRITE_TIMEOUT).
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// MaxConns bounds the PostgreSQL pool, or the SQLite read pool
	// (RISKAUTH_DATABASE_MAX_CONNS). Each instance holds up to this many
	// connections: keep instances × max_conns under the server's
	// max_connections.
	MaxConns int `yaml:"max_conns"`
}

// Timeouts returns the store's per-call deadlines.
func (s StoreConfig) Timeouts() store.Timeouts {
	return store.Timeouts{Read: s.ReadTimeout, Write: s.WriteTimeout}
}

// applyStoreEnv overlays RISKAUTH_DATABASE_READ_TIMEOUT,
// RISKAUTH_DATABASE_WRITE_TIMEOUT and RISKAUTH_DATABASE_MAX_CONNS.
func (s *StoreConfig) applyEnv(env func(string) string) error {
	for name, dst := range map[string]*time.Duration{
		"RISKAUTH_DATABASE_READ_TIMEOUT":  &s.ReadTimeout,
		"RISKAUTH_DATABASE_WRITE_TIMEOUT": &s.WriteTimeout,
	} {
		if v := strings.TrimSpace(env(name)); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s %q: %w", name, v, err)
			}
			*dst = d
		}
	}
	if v := strings.TrimSpace(env("RISKAUTH_DATABASE_MAX_CONNS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("RISKAUTH_DATABASE_MAX_CONNS %q: want a number", v)
		}
		s.MaxConns = n
	}
	return nil
}

// validate reports the store settings that cannot work.
func (s StoreConfig) validate() []error {
	var errs []error
	if s.ReadTimeout < 0 || s.WriteTimeout < 0 {
		errs = append(errs, fmt.Errorf("authn.database: read_timeout %s and write_timeout %s must not be negative", s.ReadTimeout, s.WriteTimeout))
	}
	if s.MaxConns < 0 || s.MaxConns > 10_000 {
		errs = append(errs, fmt.Errorf("authn.database.max_conns %d: want 0 (default) to 10000", s.MaxConns))
	}
	return errs
}
