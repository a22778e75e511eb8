// Package backend is the one vocabulary for "a backend failed": an Error
// naming the backend (postgres, sqlite, redis) and the kind of failure
// (timeout, down), which errors.Is matches against ErrUnavailable, and the
// riskauth_backend_errors_total counter that counts them by those two
// labels.
//
// Stores wrap a driver failure that is not the caller's fault (a deadline
// of their own that fired, a refused or broken connection) in an Error;
// everyone above branches on errors.Is(err, ErrUnavailable) instead of on
// driver types, and the HTTP layer maps it, in one place, to 503
// "unavailable" with Retry-After rather than 500 "internal", which the API
// reserves for bugs.
//
// It is not for errors of the request itself (a constraint violation, a
// missing row) nor for the caller's own cancellation: those keep their
// meaning. It imports nothing of riskauth's.
package backend
