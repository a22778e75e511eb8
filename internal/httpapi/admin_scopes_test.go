package httpapi_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// Keys of TestAdminScopes, one per kind of holder.
const (
	scopeKeyLegacy  = "admin-key-legacy-0123456789"
	scopeKeyReader  = "admin-key-reader-0123456789"
	scopeKeyRules   = "admin-key-rulesw-0123456789"
	scopeKeySupport = "admin-key-suppor-0123456789"
	scopeKeyUsers   = "admin-key-usersa-0123456789"
	scopeKeyAll     = "admin-key-allall-0123456789"
)

func TestAdminScopes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(tierRules), 0o644))
	e := newEnvRules(t, httpapi.Config{AdminKeys: []httpapi.AdminKey{
		{Name: "legacy", Key: scopeKeyLegacy},
		{Name: "reader", Key: scopeKeyReader, Scopes: []string{"rules:read"}},
		{Name: "rules", Key: scopeKeyRules, Scopes: []string{"rules:write"}},
		{Name: "support", Key: scopeKeySupport, Scopes: []string{"users:support"}},
		{Name: "users", Key: scopeKeyUsers, Scopes: []string{"users:*"}},
		{Name: "all", Key: scopeKeyAll, Scopes: []string{"*"}},
	}}, path)

	// What each route asks for, and who holds it. A key without scopes
	// keeps what every admin key could do before scopes: the rule API.
	routes := []struct {
		method, path, body, scope string
		holders                   []string
	}{
		{"GET", "/v1/admin/rules", "", "rules:read", []string{scopeKeyLegacy, scopeKeyReader, scopeKeyRules, scopeKeyAll}},
		{"POST", "/v1/admin/rules/validate", tierRules, "rules:read", []string{scopeKeyLegacy, scopeKeyReader, scopeKeyRules, scopeKeyAll}},
		{"DELETE", "/v1/admin/rules/candidate", "", "rules:write", []string{scopeKeyLegacy, scopeKeyRules, scopeKeyAll}},
	}
	keys := []string{scopeKeyLegacy, scopeKeyReader, scopeKeyRules, scopeKeySupport, scopeKeyUsers, scopeKeyAll}
	for _, rt := range routes {
		for _, key := range keys {
			t.Run(rt.method+" "+rt.path+" "+key[10:16], func(t *testing.T) {
				r := e.admin(rt.method, rt.path, rt.body, asAdmin(key))
				if slices.Contains(rt.holders, key) {
					assert.Equal(t, http.StatusOK, r.status, "%s", r.body)
					return
				}
				require.Equal(t, http.StatusForbidden, r.status, "%s", r.body)
				assert.Equal(t, "insufficient_scope", r.errorCode(t))
				assert.Contains(t, r.json(t)["error"].(map[string]any)["message"], rt.scope, "the answer names the missing scope")
			})
		}
	}
	// Authentication comes before the scope: a wrong key is 401 whatever
	// the route asks.
	r := e.admin("GET", "/v1/admin/rules", "", asAdmin("wrong-key-0123456789"))
	assert.Equal(t, http.StatusUnauthorized, r.status)
}

func TestAdminScopesConfig(t *testing.T) {
	t.Parallel()
	eng, _ := newEngine(t, newRegistry())
	for name, scopes := range map[string][]string{
		"unknown":   {"users:read", "users:wrte"},
		"empty one": {""},
		"family":    {"users"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := httpapi.New(httpapi.Config{APIKeys: []string{testKey},
				AdminKeys: []httpapi.AdminKey{{Name: "x", Key: adminKey, Scopes: scopes}}},
				httpapi.Deps{Engine: eng, Rules: eng.Rules()})
			require.ErrorContains(t, err, "unknown scope")
			require.NotContains(t, err.Error(), adminKey)
		})
	}
	assert.Contains(t, httpapi.Scopes(), "users:support")
	assert.NoError(t, httpapi.CheckScopes(nil), "no scopes: the legacy rule rights")
}

// Every admin operation of the OpenAPI document names its scope
// (x-scope), and the server asks exactly that one: a key holding every
// other scope of the family gets 403 naming it, a key holding it does
// not.
func TestAdminScopesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	doc := loadDoc(t)
	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(tierRules), 0o644))
	// One key per scope, named after it.
	var keys []httpapi.AdminKey
	for i, s := range httpapi.Scopes() {
		keys = append(keys, httpapi.AdminKey{Name: fmt.Sprintf("k%d", i), Key: fmt.Sprintf("admin-key-scope-%02d-0123456789", i), Scopes: []string{s}})
	}
	e := newEnvRules(t, httpapi.Config{AdminKeys: keys}, path)
	n := 0
	for p, item := range doc.Paths.Map() {
		if !strings.HasPrefix(p, "/v1/admin/") {
			continue
		}
		for method, op := range item.Operations() {
			scope, _ := op.Extensions["x-scope"].(string)
			require.NotEmpty(t, scope, "%s %s: x-scope", method, p)
			url := strings.NewReplacer("{id}", "0190a0b0-0000-7000-8000-000000000000").Replace(p)
			for _, k := range keys {
				r := e.do(method, url, strings.NewReader("{}"), asAdmin(k.Key), withHeader("Content-Type", "application/json"))
				if r.status == http.StatusForbidden {
					assert.Contains(t, string(r.body), scope, "%s %s: the 403 names the scope", method, p)
				}
				// A key is refused exactly when its scope does not grant
				// the route's: the family wildcards and the nesting grant.
				granted := k.Scopes[0] == scope || k.Scopes[0] == "*" || grants(k.Scopes[0], scope)
				assert.Equal(t, !granted, r.status == http.StatusForbidden, "%s %s with %s: %d %s", method, p, k.Scopes[0], r.status, r.body)
			}
			n++
		}
	}
	assert.GreaterOrEqual(t, n, 6)
}

// grants is the documented nesting: family:* grants the family, write
// grants read, users:admin grants support and read, support grants read.
func grants(have, want string) bool {
	hf, hs, _ := strings.Cut(have, ":")
	wf, ws, _ := strings.Cut(want, ":")
	if hf != wf {
		return false
	}
	rank := map[string]int{"read": 1, "support": 2, "write": 3, "admin": 3, "*": 4}
	return rank[hs] >= rank[ws]
}
