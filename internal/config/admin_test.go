package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/riskauth/riskauth/internal/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdminAndShadowConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
rules: { file: /srv/rules.yaml, shadow_file: /srv/candidate.yaml, history_size: 5 }
admin:
  api_keys:
    - { name: alice, key: alice-admin-key-0123456789 }
`), 0o644))
	c, err := config.Load(path, env(nil))
	require.NoError(t, err)
	assert.Equal(t, "/srv/candidate.yaml", c.Rules.ShadowFile)
	assert.Equal(t, 5, c.Rules.HistorySize)
	assert.Equal(t, []config.AdminKey{{Name: "alice", Key: "alice-admin-key-0123456789"}}, c.Admin.APIKeys)

	c, err = config.Load(path, env(map[string]string{
		"RISKAUTH_ADMIN_API_KEYS":    "bob:bob-admin-key-0123456789, ci-deploy:ci-admin-key-0123456789",
		"RISKAUTH_RULES_SHADOW_FILE": "/srv/other.yaml",
	}))
	require.NoError(t, err)
	assert.Equal(t, []config.AdminKey{{Name: "bob", Key: "bob-admin-key-0123456789"}, {Name: "ci-deploy", Key: "ci-admin-key-0123456789"}}, c.Admin.APIKeys)
	assert.Equal(t, "/srv/other.yaml", c.Rules.ShadowFile)

	c, err = config.Load("", env(map[string]string{"RISKAUTH_ADMIN_API_KEY": "single-admin-key-0123456789"}))
	require.NoError(t, err)
	assert.Equal(t, []config.AdminKey{{Name: "admin", Key: "single-admin-key-0123456789"}}, c.Admin.APIKeys)
	assert.Equal(t, 10, c.Rules.HistorySize)

	for name, vars := range map[string]map[string]string{
		"no colon":       {"RISKAUTH_ADMIN_API_KEYS": "just-a-key-0123456789"},
		"short key":      {"RISKAUTH_ADMIN_API_KEYS": "bob:short"},
		"bad name":       {"RISKAUTH_ADMIN_API_KEYS": "b o b:bob-admin-key-0123456789"},
		"duplicate name": {"RISKAUTH_ADMIN_API_KEYS": "bob:bob-admin-key-0123456789,bob:bob-admin-key-9876543210"},
		"same as api":    {"RISKAUTH_ADMIN_API_KEY": "shared-key-0123456789", "RISKAUTH_API_KEYS": "shared-key-0123456789"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Load("", env(vars))
			require.Error(t, err)
			for _, v := range vars {
				if len(v) > 20 {
					assert.NotContains(t, err.Error(), "0123456789", "a key never appears in an error")
				}
			}
		})
	}
}

func TestAdminKeyScopes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "riskauth.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
admin:
  api_keys:
    - { name: alice, key: alice-admin-key-0123456789, scopes: [users:support, rules:read] }
    - { name: ci, key: ci-admin-key-0123456789 }
`), 0o644))
	c, err := config.Load(path, env(nil))
	require.NoError(t, err)
	assert.Equal(t, []string{"users:support", "rules:read"}, c.Admin.APIKeys[0].Scopes)
	assert.Empty(t, c.Admin.APIKeys[1].Scopes, "no scopes: the rule API, as before scopes")

	c, err = config.Load(path, env(map[string]string{"RISKAUTH_ADMIN_API_KEY_SCOPES": " ci = rules:* users:read ; alice=users:admin"}))
	require.NoError(t, err)
	assert.Equal(t, []string{"users:admin"}, c.Admin.APIKeys[0].Scopes)
	assert.Equal(t, []string{"rules:*", "users:read"}, c.Admin.APIKeys[1].Scopes)

	c, err = config.Load("", env(map[string]string{"RISKAUTH_ADMIN_API_KEYS": "bob:bob-admin-key-0123456789",
		"RISKAUTH_ADMIN_API_KEY_SCOPES": "bob=users:read,users:support"}))
	require.NoError(t, err)
	assert.Equal(t, []string{"users:read", "users:support"}, c.Admin.APIKeys[0].Scopes)

	for name, v := range map[string]string{
		"unknown key":   "carol=users:read",
		"no equals":     "alice users:read",
		"no scope":      "alice=",
		"unknown scope": "alice=users:wrte",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := config.Load(path, env(map[string]string{"RISKAUTH_ADMIN_API_KEY_SCOPES": v}))
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "0123456789", "a key never appears in an error")
		})
	}
}
