package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// AdminConfig configures the admin API (rule rollout and user
// administration). With no key it is off: its routes answer 404.
type AdminConfig struct {
	// APIKeys are the admin bearer keys, each with a name that the audit
	// trail records as who made a change. They are separate from APIKeys:
	// an admin key is refused on /v1/risk/* and an ordinary key on
	// /v1/admin/*. Environment: RISKAUTH_ADMIN_API_KEYS
	// ("name:key,name:key") or RISKAUTH_ADMIN_API_KEY (one key, named
	// "admin"); either replaces the file's list.
	APIKeys []AdminKey `yaml:"api_keys"`
}

// AdminKey is one named admin key.
type AdminKey struct {
	// Name is who the audit trail says made a change (alice, ci-deploy).
	Name string `yaml:"name"`
	// Key is the secret; keep it in the environment or a secret store
	// rather than the YAML file. It is never logged.
	Key string `yaml:"key"`
	// Scopes are what the key may do: rules:read, rules:write, rules:*,
	// users:read, users:support, users:admin, users:*, * (docs/admin.md).
	// None keeps what admin keys could do before scopes existed: rules:*.
	// Environment: RISKAUTH_ADMIN_API_KEY_SCOPES
	// ("alice=users:support users:read;ci-deploy=rules:*").
	Scopes []string `yaml:"scopes"`
}

var adminNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// applyAdminEnv reads the admin keys. The variables' values are secrets:
// errors name the entry's position, never its content.
func (c *Config) applyAdminEnv(env func(string) string) error {
	if v := strings.TrimSpace(env("RISKAUTH_ADMIN_API_KEYS")); v != "" {
		c.Admin.APIKeys = nil
		for i, p := range splitList(v) {
			name, key, ok := strings.Cut(p, ":")
			if !ok {
				return fmt.Errorf("RISKAUTH_ADMIN_API_KEYS entry #%d: want name:key", i+1)
			}
			c.Admin.APIKeys = append(c.Admin.APIKeys, AdminKey{Name: strings.TrimSpace(name), Key: strings.TrimSpace(key)})
		}
	}
	if v := strings.TrimSpace(env("RISKAUTH_ADMIN_API_KEY")); v != "" {
		c.Admin.APIKeys = []AdminKey{{Name: "admin", Key: v}}
	}
	return c.applyAdminScopesEnv(env("RISKAUTH_ADMIN_API_KEY_SCOPES"))
}

// applyAdminScopesEnv reads RISKAUTH_ADMIN_API_KEY_SCOPES: entries
// "name=scope scope" separated by ";" (a scope holds ":", so the pairs
// cannot use it), each replacing the named key's scopes. The names are not
// secret, so errors quote them.
func (c *Config) applyAdminScopesEnv(v string) error {
	for i, p := range strings.Split(v, ";") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		name, list, ok := strings.Cut(p, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return fmt.Errorf("RISKAUTH_ADMIN_API_KEY_SCOPES entry #%d: want name=scope scope", i+1)
		}
		idx := slices.IndexFunc(c.Admin.APIKeys, func(k AdminKey) bool { return k.Name == name })
		if idx < 0 {
			return fmt.Errorf("RISKAUTH_ADMIN_API_KEY_SCOPES entry #%d: no admin key named %q", i+1, name)
		}
		scopes := strings.FieldsFunc(list, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
		if len(scopes) == 0 {
			return fmt.Errorf("RISKAUTH_ADMIN_API_KEY_SCOPES entry #%d (%s): no scope", i+1, name)
		}
		c.Admin.APIKeys[idx].Scopes = scopes
	}
	return nil
}

func (c *Config) validateAdmin() []error {
	var errs []error
	names := map[string]bool{}
	for i, k := range c.Admin.APIKeys {
		if !adminNameRe.MatchString(k.Name) {
			errs = append(errs, fmt.Errorf("admin.api_keys #%d: name %q: want 1-64 of A-Z a-z 0-9 _ . @ -", i+1, k.Name))
		}
		if names[k.Name] {
			errs = append(errs, fmt.Errorf("admin.api_keys #%d: name %q used twice", i+1, k.Name))
		}
		names[k.Name] = true
		if len(k.Key) < 16 {
			errs = append(errs, fmt.Errorf("admin.api_keys #%d (%s): key shorter than 16 characters", i+1, k.Name))
		}
		if err := httpapi.CheckScopes(k.Scopes); err != nil {
			errs = append(errs, fmt.Errorf("admin.api_keys #%d (%s): %w", i+1, k.Name, err))
		}
		for _, api := range c.APIKeys {
			if api == k.Key {
				errs = append(errs, fmt.Errorf("admin.api_keys #%d (%s): same key as an ordinary API key; admin keys must be separate", i+1, k.Name))
			}
		}
	}
	return errs
}
