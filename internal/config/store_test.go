package config_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/store"
	"github.com/riskauth/riskauth/internal/config"
)

// TestStoreConfig: the account store's deadlines and pool come from
// authn.database, the RISKAUTH_DATABASE_* variables over it, and zero
// means the store's defaults.
func TestStoreConfig(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(file, []byte("authn:\n  database: { read_timeout: 300ms, write_timeout: 1s, max_conns: 12 }\n"), 0o600))
	tests := []struct {
		name    string
		file    string
		env     map[string]string
		want    config.StoreConfig
		timeout store.Timeouts
		err     string
	}{
		{name: "defaults", timeout: store.Timeouts{}},
		{name: "file", file: file, want: config.StoreConfig{ReadTimeout: 300 * time.Millisecond, WriteTimeout: time.Second, MaxConns: 12},
			timeout: store.Timeouts{Read: 300 * time.Millisecond, Write: time.Second}},
		{name: "environment over the file", file: file,
			env:     map[string]string{"RISKAUTH_DATABASE_READ_TIMEOUT": "250ms", "RISKAUTH_DATABASE_WRITE_TIMEOUT": "3s", "RISKAUTH_DATABASE_MAX_CONNS": "40"},
			want:    config.StoreConfig{ReadTimeout: 250 * time.Millisecond, WriteTimeout: 3 * time.Second, MaxConns: 40},
			timeout: store.Timeouts{Read: 250 * time.Millisecond, Write: 3 * time.Second}},
		{name: "bad duration", env: map[string]string{"RISKAUTH_DATABASE_READ_TIMEOUT": "soon"}, err: "RISKAUTH_DATABASE_READ_TIMEOUT"},
		{name: "bad count", env: map[string]string{"RISKAUTH_DATABASE_MAX_CONNS": "many"}, err: "RISKAUTH_DATABASE_MAX_CONNS"},
		{name: "negative", env: map[string]string{"RISKAUTH_DATABASE_WRITE_TIMEOUT": "-1s"}, err: "must not be negative"},
		{name: "too many connections", env: map[string]string{"RISKAUTH_DATABASE_MAX_CONNS": "100000"}, err: "max_conns"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(tc.file, env(tc.env))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.Authn.Database)
			assert.Equal(t, tc.timeout, c.Authn.Database.Timeouts())
		})
	}
}
