package httpapi

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// Admin key scopes (issue 20). Each admin route asks for one scope; a key
// holds a set of them. The user-administration scopes nest (admin ⊃
// support ⊃ read) and so do the rule scopes (write ⊃ read), so that a key
// is configured with the one scope that says what its holder does.
const (
	// ScopeRulesRead: see the rule sets and validate a file
	// (GET /v1/admin/rules, POST /v1/admin/rules/validate).
	ScopeRulesRead = "rules:read"
	// ScopeRulesWrite: change them (candidate, promote, rollback).
	ScopeRulesWrite = "rules:write"
	// ScopeUsersRead: search, list and view accounts.
	ScopeUsersRead = "users:read"
	// ScopeUsersSupport: the helpdesk's actions that help the owner back
	// in without changing who owns the account: unlock, reset MFA,
	// revoke sessions, resend verification, trigger a password reset.
	ScopeUsersSupport = "users:support"
	// ScopeUsersAdmin: the rest: disable, enable, mark verified, delete,
	// import and export.
	ScopeUsersAdmin = "users:admin"
	// ScopeClientsRead: list and view the OpenID Connect clients
	// (GET /v1/admin/clients).
	ScopeClientsRead = "clients:read"
	// ScopeClientsWrite: register, change and delete them, and rotate
	// their secrets.
	ScopeClientsWrite = "clients:write"
)

// scopeSet is a set of scopes as bits, implied scopes included.
type scopeSet uint32

const (
	bitRulesRead scopeSet = 1 << iota
	bitRulesWrite
	bitUsersRead
	bitUsersSupport
	bitUsersAdmin
	bitClientsRead
	bitClientsWrite
)

// scopeBits maps each scope a key may be given to what it grants, implied
// scopes included. The wildcards grant a whole family.
var scopeBits = map[string]scopeSet{
	ScopeRulesRead:    bitRulesRead,
	ScopeRulesWrite:   bitRulesWrite | bitRulesRead,
	"rules:*":         bitRulesWrite | bitRulesRead,
	ScopeUsersRead:    bitUsersRead,
	ScopeUsersSupport: bitUsersSupport | bitUsersRead,
	ScopeUsersAdmin:   bitUsersAdmin | bitUsersSupport | bitUsersRead,
	"users:*":         bitUsersAdmin | bitUsersSupport | bitUsersRead,
	ScopeClientsRead:  bitClientsRead,
	ScopeClientsWrite: bitClientsWrite | bitClientsRead,
	"clients:*":       bitClientsWrite | bitClientsRead,
	"*":               bitRulesWrite | bitRulesRead | bitUsersAdmin | bitUsersSupport | bitUsersRead | bitClientsWrite | bitClientsRead,
}

// legacyScopes is what a key configured without scopes holds: what every
// admin key could do before scopes existed (the rule rollout API), and
// nothing more, so that upgrading never hands an old key the user data.
const legacyScopes = bitRulesWrite | bitRulesRead

// Scopes lists the scope names an admin key may be given, for
// documentation and configuration errors.
func Scopes() []string {
	out := make([]string, 0, len(scopeBits))
	for s := range scopeBits {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// CheckScopes reports the first scope name that no admin key may be
// given, for configuration checks before the server is built.
func CheckScopes(names []string) error {
	_, err := parseScopes(names)
	return err
}

// parseScopes turns a key's configured scopes into a set; none at all is
// legacyScopes. An unknown name is an error rather than ignored: a typo
// would otherwise silently leave the key without the right it was meant
// to have, or (worse) be read as a different one.
func parseScopes(names []string) (scopeSet, error) {
	if len(names) == 0 {
		return legacyScopes, nil
	}
	var set scopeSet
	for _, n := range names {
		b, ok := scopeBits[strings.TrimSpace(n)]
		if !ok {
			return 0, fmt.Errorf("unknown scope %q (want one of %s)", n, strings.Join(Scopes(), ", "))
		}
		set |= b
	}
	return set, nil
}

// requireScope is the middleware behind authenticateAdmin that refuses a
// key lacking scope with 403 insufficient_scope, naming the scope.
func (s *Server) requireScope(scope string) fiber.Handler {
	want := scopeBits[scope]
	if want == 0 {
		// A route table mistake: fail closed for every key.
		want = ^scopeSet(0)
	}
	return func(c *fiber.Ctx) error {
		idx, ok := c.Locals(localAdminIndex).(int)
		if !ok || s.adminScopes[idx]&want != want {
			return apiErr(CodeInsufficientScope, fmt.Sprintf("this admin key lacks the scope %s", scope))
		}
		return c.Next()
	}
}
