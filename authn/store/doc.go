// Package store implements the authn store interfaces twice: on SQLite
// (OpenSQLite; pure Go through modernc.org/sqlite, the embedded
// single-process default) and on PostgreSQL (OpenPostgres; pgx, for many
// instances sharing one database). Both pass the same conformance suite,
// authn/store/storetest.
//
// Atomicity lives in the database, never in process memory, so guarantees
// hold across instances: single use of tokens, recovery codes and TOTP time
// steps is a conditional UPDATE (compare-and-set) whose loser sees zero rows;
// flow transitions are compare-and-set on the state; session lookups check
// both deadlines in the query.
//
// SQLite allows one writer at a time. Rather than letting concurrent
// sign-ins race for the lock and fail with SQLITE_BUSY (as a popular Go
// identity server does from four concurrent users upward, even in WAL
// mode), every write goes through one dedicated connection opened with
// _txlock=immediate, so writes queue in Go instead of failing, while reads
// use a separate pool that WAL lets run beside the writer.
//
// Schema changes are versioned SQL files embedded in the binary
// (migrations/<dialect>/NNNN_name.sql) applied at open by a small runner in
// this package: a schema_migrations table, one transaction per migration,
// a PostgreSQL advisory lock so instances starting together do not race,
// and a refusal (authn.ErrSchemaTooNew) to run against a database migrated
// by a newer binary. We deliberately do not use goose: v3.30 pins a
// modernc.org/libc version that conflicts with modernc.org/sqlite's exact
// requirement, and it drags dozens of database drivers into go.sum, all for
// what is here about a hundred lines.
//
// This package holds no policy (lockout thresholds, timeouts, code lengths
// are the flows' decisions, passed in as values and deadlines) and no
// cryptography (it stores hashes and sealed secrets computed by the caller).
// It never logs: errors carry context but never token hashes, secrets or
// password hashes.
package store
