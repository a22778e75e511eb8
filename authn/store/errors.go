package store

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riskauth/riskauth/authn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// constraint classifies a driver error as a constraint violation, so both
// backends map them to the same sentinels.
type constraint int

const (
	notConstraint constraint = iota
	uniqueViolation
	foreignKeyViolation
)

// classify returns the kind of constraint err violated and the name of the
// constraint or column list the database reported.
func classify(err error) (constraint, string) {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			// SQLite names the columns only in the message: "UNIQUE
			// constraint failed: users.email".
			return uniqueViolation, se.Error()
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return foreignKeyViolation, se.Error()
		}
		return notConstraint, ""
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return uniqueViolation, pe.ConstraintName
		case "23503":
			return foreignKeyViolation, pe.ConstraintName
		}
	}
	return notConstraint, ""
}

// mapInsertError turns constraint violations of an insert into sentinels:
// a taken email is ErrEmailTaken, any other duplicate ErrConflict, and a
// missing referenced user ErrNotFound. Other errors pass through.
func mapInsertError(err error) error {
	kind, name := classify(err)
	switch {
	case kind == uniqueViolation && (strings.Contains(name, "users.email") || name == "users_email_key"):
		return authn.ErrEmailTaken
	case kind == uniqueViolation:
		return authn.ErrConflict
	case kind == foreignKeyViolation:
		return authn.ErrNotFound
	}
	return err
}
