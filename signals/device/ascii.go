package device

// hasPrefix reports whether s starts with the lower-case prefix p,
// ignoring ASCII case in s.
func hasPrefix[S ~string | ~[]byte](s S, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lower(s[i]) != p[i] {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isAlnum reports whether c is an ASCII letter or digit (unsigned
// wrap-around turns each range test into one comparison).
func isAlnum(c byte) bool {
	return (c|0x20)-'a' < 26 || c-'0' < 10
}

// contains reports whether hay contains the lower-case needle, ignoring
// ASCII case in hay, without allocating.
func contains[S ~string | ~[]byte](hay S, needle string) bool {
	for i := 0; i+len(needle) <= len(hay); i++ {
		if hasPrefix(hay[i:], needle) {
			return true
		}
	}
	return false
}
