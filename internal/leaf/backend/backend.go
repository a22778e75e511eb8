package backend

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
)

// ErrUnavailable matches (errors.Is) every *Error: a backend did not
// answer in time or could not be reached.
var ErrUnavailable = errors.New("backend unavailable")

// Kinds of failure, the "kind" label of the counter. The set is closed so
// that the label stays bounded.
const (
	// KindTimeout: the backend did not answer within the caller's budget
	// (hung, overloaded, or every pooled connection busy).
	KindTimeout = "timeout"
	// KindDown: the backend refused or dropped the connection, or said it
	// cannot serve (shutting down, starting up, out of connections).
	KindDown = "down"
)

// Error is a backend failure: which backend, what kind, and the driver's
// error as the cause.
type Error struct {
	// Backend names the backend ("postgres", "sqlite", "redis").
	Backend string
	// Kind is KindTimeout or KindDown.
	Kind string
	// Err is the cause.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	return e.Backend + " unavailable (" + e.Kind + "): " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) hold for every *Error.
func (e *Error) Is(target error) bool { return target == ErrUnavailable }

// Wrap returns err as an *Error of backend with kind, or nil for nil.
func Wrap(backendName, kind string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Backend: backendName, Kind: kind, Err: err}
}

// As returns the *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var be *Error
	ok := errors.As(err, &be)
	return be, ok
}

// Network classifies the transport-level failures every network client
// shares: a deadline that fired (KindTimeout) or a connection that was
// refused, reset or closed (KindDown). ok is false for anything else,
// which the caller classifies by its own driver's types or leaves alone.
// A cancelled context is not a backend failure and is never classified.
func Network(err error) (kind string, ok bool) {
	if err == nil || errors.Is(err, context.Canceled) {
		return "", false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout, true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout, true
	}
	var oe *net.OpError
	switch {
	case errors.As(err, &oe),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed):
		return KindDown, true
	}
	return "", false
}
