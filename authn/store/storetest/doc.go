// Package storetest is the conformance suite every implementation of the
// authn store interfaces must pass: one set of behaviours (expiry by
// explicit time, single use under concurrency, attempt limits, compare-and-set
// transitions, migrations), run against each backend by its own tests, so
// SQLite and PostgreSQL cannot drift apart.
//
// It is test support only; nothing outside _test.go files should import it.
package storetest
