package device

// isAlnum reports whether c is an ASCII letter or digit (unsigned
// wrap-around turns each range test into one comparison).
func isAlnum(c byte) bool {
	return (c|0x20)-'a' < 26 || c-'0' < 10
}
