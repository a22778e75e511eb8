package jsondepth

import (
	"errors"
	"fmt"
	"math"
)

// Limit is the nesting riskauth accepts in untrusted JSON. The API's
// deepest legitimate body nests 4 levels (a sign-in body's
// client.device.languages array), the OCSF messages riskauth writes 8 at
// most (an Authentication event); 32 leaves a wide margin for members
// callers send and readers ignore, while keeping whatever recursion a
// reader then does negligible. It is also the depth the risk API's fast
// path follows, so both paths of that decoder stop accepting bodies at
// the same depth.
const Limit = 32

// ErrTooDeep is the error Check wraps: the JSON nests arrays and objects
// deeper than the limit it was checked against.
var ErrTooDeep = errors.New("JSON nested too deeply")

// Check returns an error wrapping ErrTooDeep that names limit when b nests
// deeper than limit (see Exceeds), and nil otherwise. It allocates only
// the error.
func Check(b []byte, limit int) error {
	if Exceeds(b, limit) {
		return fmt.Errorf("%w: more than %d levels of arrays and objects", ErrTooDeep, limit)
	}
	return nil
}

// Exceeds reports whether b opens more than limit arrays and objects
// inside one another. The top-level value's own brackets are level 1, so
// a scalar is at depth 0, [] and {} at 1, [[]] at 2.
//
// It counts '[' and '{' and uncounts ']' and '}' that lie outside
// strings, honouring escapes within strings; a closing bracket with
// nothing open is ignored. For valid JSON this is exactly the nesting
// depth. For any other text it never reports less than the depth a
// parser reaches before it meets the first error, since up to there the
// text is valid. It stops at the first level past limit, reads each byte
// at most once and allocates nothing.
func Exceeds(b []byte, limit int) bool {
	return scan(b, limit) > limit
}

// Depth returns the deepest nesting of arrays and objects in b, counted as
// Exceeds counts it.
func Depth(b []byte) int {
	return scan(b, math.MaxInt-1)
}

// scan returns the deepest nesting in b, or the first depth past limit.
func scan(b []byte, limit int) int {
	depth, deepest := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			// Skip the string: up to the next quote that no backslash
			// escapes (the rest of b when it never ends).
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '[', '{':
			if depth++; depth > deepest {
				if deepest = depth; deepest > limit {
					return deepest
				}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return deepest
}
