package testenv

import (
	"context"
	"testing"
	"time"
)

// Patience is how long a test waits for something that involves a server,
// another goroutine or the scheduler (a key written, a message consumed, a
// background refresh done) before it fails. It is far longer than any of
// these takes on a quiet machine, so that a machine loaded many times over
// (a shared CI runner) slows a test down but never changes its verdict; a
// test that waits this long has found a real hang. docs/testing.md has the
// rules this serves.
const Patience = 60 * time.Second

// Budget is a per-operation deadline for tests that must pass a bound to
// the code under test (an engine's evaluation deadline, a produce timeout,
// a request context) where the bound is not what the test checks: long
// enough never to expire on a loaded machine, shorter than Patience so that
// an expiry is reported by the test's own wait, not by go test's timeout.
const Budget = 30 * time.Second

// Eventually polls cond every 10ms until it holds and fails the test,
// naming what it waited for, when Patience has passed without it.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, Patience, what, cond)
}

// EventuallyWithin is Eventually with another limit, for waits that cannot
// take Patience (the surrounding test bounds them more tightly); keep it
// generous.
func EventuallyWithin(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Context returns a context that expires after Patience and is cancelled
// when the test ends, for calls to a test server that must not hang the
// test forever.
func Context(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Patience)
	t.Cleanup(cancel)
	return ctx
}
