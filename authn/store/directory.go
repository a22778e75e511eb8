package store

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn"
)

// The user search of both stores (authn.UserDirectory.ListUsers): one
// builder for the WHERE clause, with the dialect's placeholders, time
// encoding and boolean literal, so the two cannot drift apart.

// maxListLimit bounds one page whatever the caller asks.
const maxListLimit = 1000

// userSearchDialect is what differs between SQLite and PostgreSQL.
type userSearchDialect struct {
	// placeholder returns the n-th (1-based) placeholder.
	placeholder func(n int) string
	// at encodes a time as the column type wants it.
	at func(t time.Time) any
	// emailLike is the case-insensitive prefix condition over a LIKE
	// pattern placeholder.
	emailLike string
	// disabled and enabled are the boolean conditions on the column.
	disabled, enabled string
	// attrMatch is the condition "the profile's attribute name holds v"
	// (with one placeholder verb) and its argument; name is checked.
	attrMatch func(name string, v any) (string, any, error)
}

var sqliteUserSearch = userSearchDialect{
	placeholder: func(int) string { return "?" },
	at:          func(t time.Time) any { return ms(t) },
	// LIKE folds ASCII case in SQLite, like the column's NOCASE.
	emailLike: `email LIKE %s ESCAPE '\'`,
	disabled:  `disabled = 1`, enabled: `disabled = 0`,
	// No index: SQLite scans the profiles (one JSON parse per row), fine
	// for the deployments SQLite is for; PostgreSQL has a GIN index.
	attrMatch: func(name string, v any) (string, any, error) {
		if b, ok := v.(bool); ok { // json_extract reads true as 1
			v = 0
			if b {
				v = 1
			}
		}
		return `id IN (SELECT user_id FROM profiles WHERE json_extract(attributes, '$.` + name + `') = %s)`, v, nil
	},
}

var pgUserSearch = userSearchDialect{
	placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
	at:          func(t time.Time) any { return t },
	// Backslash is PostgreSQL's default LIKE escape; lower() on both
	// sides, as the unique index folds.
	emailLike: `lower(email) LIKE %s`,
	disabled:  `disabled`, enabled: `NOT disabled`,
	// Containment, which the GIN index of migration 0022 serves.
	attrMatch: func(name string, v any) (string, any, error) {
		doc, err := json.Marshal(map[string]any{name: v})
		return `id IN (SELECT user_id FROM profiles WHERE attributes @> %s::jsonb)`, string(doc), err
	},
}

// likePrefix is the LIKE pattern matching strings that start with p: the
// wildcards and the escape in p are escaped, and ASCII is lower-cased as
// both stores compare.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(strings.ToLower(p)) + "%"
}

// attributeName reports whether name has the form the account
// configuration allows (lower-case letters, digits, underscores, a letter
// first), which is also what may stand in a SQLite JSON path unquoted.
func attributeName(name string) bool {
	if name == "" || len(name) > 64 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, c := range []byte(name) {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// listUsersSQL returns the statement and arguments of ListUsers.
func listUsersSQL(d userSearchDialect, q authn.UserQuery) (string, []any, error) {
	var conds []string
	var args []any
	add := func(cond string, vals ...any) {
		ph := make([]any, len(vals))
		for i, v := range vals {
			args = append(args, v)
			ph[i] = d.placeholder(len(args))
		}
		conds = append(conds, fmt.Sprintf(cond, ph...))
	}
	if q.ID != "" {
		add(`id = %s`, q.ID)
	}
	if q.EmailPrefix != "" {
		add(d.emailLike, likePrefix(q.EmailPrefix))
	}
	if !q.CreatedFrom.IsZero() {
		add(`created_at >= %s`, d.at(q.CreatedFrom))
	}
	if !q.CreatedBefore.IsZero() {
		add(`created_at < %s`, d.at(q.CreatedBefore))
	}
	if q.Attribute != "" {
		if !attributeName(q.Attribute) {
			return "", nil, fmt.Errorf("store: list users: %q is not an attribute name", q.Attribute)
		}
		switch q.AttributeValue.(type) {
		case string, int64, float64, bool:
		default:
			return "", nil, fmt.Errorf("store: list users: attribute value of type %T", q.AttributeValue)
		}
		cond, arg, err := d.attrMatch(q.Attribute, q.AttributeValue)
		if err != nil {
			return "", nil, fmt.Errorf("store: list users: %w", err)
		}
		add(cond, arg)
	}
	switch q.Status {
	case "":
	case authn.StatusActive:
		conds = append(conds, d.enabled, `email_verified_at IS NOT NULL`)
	case authn.StatusUnverified:
		conds = append(conds, d.enabled, `email_verified_at IS NULL`)
	case authn.StatusDisabled:
		conds = append(conds, d.disabled)
	default:
		return "", nil, fmt.Errorf("store: list users: unknown status %q", q.Status)
	}
	if q.AfterID != "" || !q.AfterCreated.IsZero() {
		add(`(created_at, id) > (%s, %s)`, d.at(q.AfterCreated), q.AfterID)
	}
	limit := min(max(q.Limit, 1), maxListLimit)
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	args = append(args, limit)
	return `SELECT ` + userCols + ` FROM users` + where + ` ORDER BY created_at, id LIMIT ` + d.placeholder(len(args)), args, nil
}
