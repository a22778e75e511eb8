// Package asciifold matches lower-case ASCII patterns against text in any
// ASCII case without allocating: user agents and platform strings are
// matched on every evaluation, where strings.ToLower's copy would be the
// largest cost.
package asciifold

// HasPrefix reports whether s starts with the lower-case prefix p,
// ignoring ASCII case in s.
func HasPrefix[S ~string | ~[]byte](s S, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if Lower(s[i]) != p[i] {
			return false
		}
	}
	return true
}

// Contains reports whether hay contains the lower-case needle, ignoring
// ASCII case in hay.
func Contains[S ~string | ~[]byte](hay S, needle string) bool {
	for i := 0; i+len(needle) <= len(hay); i++ {
		if HasPrefix(hay[i:], needle) {
			return true
		}
	}
	return false
}

// Lower maps an ASCII upper-case letter to lower case and leaves every
// other byte alone.
func Lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
