// Command testsummary reads `go test -json` on its standard input, prints
// what `go test` would have printed without -json, and ends with a summary
// of the run: how many tests passed, failed and were skipped, every
// skipped test with the reason it gave (t.Skip's message: a missing test
// server, Chromium not installed, -short...), and every failed test.
// scripts/test.sh pipes its go test runs through it, so that a skipped
// test is never silent.
//
//	go test -json ./... | go run ./internal/leaf/testenv/testsummary [-v]
//
// Without -v it prints, per package and in the order packages started,
// the output of failed tests, the package's own lines ("ok", "FAIL",
// panics, TestMain's output) and build errors; the output of passing and
// skipped tests is dropped, as go test drops it. With -v (pass it when go
// test runs with -v) it prints everything. A package's output streams
// while it is the oldest one running; the others are held until then, so
// packages never interleave.
//
// It always exits 0 unless its input cannot be read: run it in a pipeline
// with `set -o pipefail`, and go test's status is the pipeline's. Lines
// that are not JSON events are printed as they are.
//
// It is a development tool of the test command, not part of riskauth.
package main
