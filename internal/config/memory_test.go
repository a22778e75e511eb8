package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/signals/standard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoryLimit: the budget comes from RISKAUTH_MEMORY_LIMIT over the
// file's memory_limit, else from a GOMEMLIMIT the runtime was started
// with, else the default; the caps follow it unless set explicitly.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(file, []byte("memory_limit: 1GiB\nvelocity: { max_keys: 5000 }\n"), 0o600))
	for _, tc := range []struct {
		name     string
		path     string
		vars     map[string]string
		want     standard.Bytes
		wantKeys int
		wantErr  string
	}{
		{name: "default", want: standard.DefaultMemoryLimit, wantKeys: standard.PlanMemory(0).MaxKeys},
		{name: "file", path: file, want: standard.GiB, wantKeys: 5000},
		{name: "variable over file", path: file, vars: map[string]string{"RISKAUTH_MEMORY_LIMIT": "768MiB"}, want: 768 * standard.MiB, wantKeys: 5000},
		{name: "GOMEMLIMIT when unset", vars: map[string]string{"GOMEMLIMIT": "2GiB"}, want: 2 * standard.GiB,
			wantKeys: standard.PlanMemory(2 * standard.GiB).MaxKeys},
		{name: "GOMEMLIMIT below the file", path: file, vars: map[string]string{"GOMEMLIMIT": "2GiB"}, want: standard.GiB, wantKeys: 5000},
		{name: "GOMEMLIMIT off", vars: map[string]string{"GOMEMLIMIT": "off"}, want: standard.DefaultMemoryLimit, wantKeys: standard.PlanMemory(0).MaxKeys},
		{name: "bad variable", vars: map[string]string{"RISKAUTH_MEMORY_LIMIT": "half"}, wantErr: "RISKAUTH_MEMORY_LIMIT"},
		{name: "too small", vars: map[string]string{"RISKAUTH_MEMORY_LIMIT": "32MiB"}, wantErr: "memory_limit 32MiB: want at least 128MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Load(tc.path, env(tc.vars))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c.MemoryLimit)
			assert.Equal(t, tc.wantKeys, c.Velocity.MaxKeys)
			assert.Equal(t, standard.PlanMemory(tc.want).MaxPending, c.Velocity.MaxPending)
		})
	}
}
