package store

import (
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
}

var sqliteUserSearch = userSearchDialect{
	placeholder: func(int) string { return "?" },
	at:          func(t time.Time) any { return ms(t) },
	// LIKE folds ASCII case in SQLite, like the column's NOCASE.
	emailLike: `email LIKE %s ESCAPE '\'`,
	disabled:  `disabled = 1`, enabled: `disabled = 0`,
}

var pgUserSearch = userSearchDialect{
	placeholder: func(n int) string { return fmt.Sprintf("$%d", n) },
	at:          func(t time.Time) any { return t },
	// Backslash is PostgreSQL's default LIKE escape; lower() on both
	// sides, as the unique index folds.
	emailLike: `lower(email) LIKE %s`,
	disabled:  `disabled`, enabled: `NOT disabled`,
}

// likePrefix is the LIKE pattern matching strings that start with p: the
// wildcards and the escape in p are escaped, and ASCII is lower-cased as
// both stores compare.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(strings.ToLower(p)) + "%"
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
