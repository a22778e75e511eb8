package breached

import (
	"context"
	"errors"
	"fmt"
)

// Result is what a Checker found for one password.
type Result struct {
	// Breached reports whether the password is in the corpus.
	Breached bool
	// Count is how often the password was seen in breaches, 0 when unknown
	// (the embedded corpus and the filter format carry no counts).
	Count int
}

// Checker tells whether a password is known from a breach corpus.
//
// Implementations never log or keep the password or its full hash beyond
// the call. Check is safe for concurrent use.
type Checker interface {
	Check(ctx context.Context, password string) (Result, error)
}

// Local is implemented by checkers that answer from memory (embedded data or
// a memory-mapped file) without network I/O, cheaply enough to run inline
// on the engine's caller goroutine.
type Local interface {
	Local() bool
}

// IsLocal reports whether c answers without network I/O.
func IsLocal(c Checker) bool {
	l, ok := c.(Local)
	return ok && l.Local()
}

// Multi asks several checkers in order.
//
// The first checker that reports the password as breached settles the
// answer; while that answer has no count (Count == 0), later local checkers
// are still asked so that a full-corpus table can add the count, but remote
// ones are not (a count is not worth a network round trip). When no checker
// reports the password and at least one failed, Multi returns the error: a
// clean answer needs every configured checker to have answered.
type Multi []Checker

var (
	_ Checker = Multi(nil)
	_ Local   = Multi(nil)
)

// Check implements Checker.
func (m Multi) Check(ctx context.Context, password string) (Result, error) {
	var (
		res  Result
		errs []error
	)
	for i, c := range m {
		if res.Breached && !IsLocal(c) {
			break
		}
		r, err := c.Check(ctx, password)
		if err != nil {
			errs = append(errs, fmt.Errorf("checker %d: %w", i, err))
			continue
		}
		if r.Breached {
			res.Breached = true
			if r.Count > res.Count {
				res.Count = r.Count
			}
			if res.Count > 0 {
				break
			}
		}
	}
	if res.Breached {
		return res, nil
	}
	if len(errs) > 0 {
		return Result{}, errors.Join(errs...)
	}
	return Result{}, nil
}

// Local reports whether every checker in m is local.
func (m Multi) Local() bool {
	for _, c := range m {
		if !IsLocal(c) {
			return false
		}
	}
	return true
}
