// Package jsonw appends JSON scalars to byte slices exactly as
// encoding/json writes them. The hot encoders (the risk API's response,
// the SOC messages) build JSON by appending instead of reflecting; they
// share these two functions so their output stays byte-identical to
// encoding/json's, which tests and consumers compare against.
//
// It is not a JSON encoder: objects, arrays and separators are the
// callers' business.
package jsonw

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendFloat appends f as encoding/json formats a float64. NaN and the
// infinities, which encoding/json refuses (failing the whole value),
// become null: one odd feature must not lose a response or an alert.
func AppendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	if abs < 1<<53 && f == math.Trunc(f) {
		// Whole numbers (counts, -1 for "none", 0) are most of the
		// values; below 2^53 each is exact and strconv's shortest form is
		// its integer digits, which AppendInt writes at a fraction of the
		// cost. -0 keeps its sign, as encoding/json writes it.
		if f == 0 && math.Signbit(f) {
			return append(b, "-0"...)
		}
		return strconv.AppendInt(b, int64(f), 10)
	}
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// plain[c] reports an ASCII byte copied as is. Control characters, '"',
// '\\' and, as encoding/json does by default, '<', '>' and '&' are
// escaped; bytes of multi-byte UTF-8 sequences take the slow path, which
// validates them.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// AppendString appends s as a quoted JSON string, as encoding/json (with
// its default HTML escaping) writes it: invalid UTF-8 becomes U+FFFD and
// U+2028/U+2029 are escaped for JavaScript consumers.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	// Fast path: most strings (keys, ids, rule names) need no escaping;
	// one table lookup per byte finds out, then one copy.
	i := 0
	for i < len(s) && plain[s[i]] {
		i++
	}
	if i == len(s) {
		dst = append(dst, s...)
		return append(dst, '"')
	}
	start := 0
	for i < len(s) {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
