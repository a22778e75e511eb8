package wire

import (
	"encoding/binary"
	"math"
	"math/bits"
	"unicode/utf8"
	"unsafe"

	"github.com/valyala/fastjson/fastfloat"

	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
)

// A scanner makes one strict pass over a JSON body: it checks the grammar
// and UTF-8 as it goes and reports where values lie (spans) instead of
// building values. It is the engine of the evaluate fast path
// (evaluate_scan.go), and only ever a fast path: every method reports
// false on anything it does not decide cheaply and exactly as the general
// path (decode.go) would, and the caller then takes the general path.

// maxScanDepth bounds the nesting the fast path follows; deeper bodies
// take the general path, which refuses them (jsondepth.Limit), so the
// fast path recurses at most this deep.
const maxScanDepth = jsondepth.Limit

// span is where a value lies in the body: [off, end). The zero span is
// the empty string, which is also how an absent or null value reads.
type span struct{ off, end int }

func (s span) len() int { return s.end - s.off }

// scanner walks a body; every method reports false when the fast path
// must give up.
type scanner struct {
	b     []byte
	i     int
	depth int
}

func (s *scanner) ws() {
	b, i := s.b, s.i
	if i < len(b) && b[i] > ' ' { // the usual case: no white space
		return
	}
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	s.i = i
}

// peek returns the next byte after white space, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// expect consumes c after white space.
func (s *scanner) expect(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// str reads a string without escapes (the opening quote is next) and
// returns its contents; invalid UTF-8 and control characters end the fast
// path, as does an escape: unescaping is the general path's business.
func (s *scanner) str() (span, bool) {
	b := s.b
	start := s.i + 1
	ascii := true
	for j := start; j < len(b); {
		j = skipPlain(b, j)
		if j == len(b) {
			break
		}
		switch c := b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(b[start:j]) {
				return span{}, false
			}
			s.i = j + 1
			return span{start, j}, true
		case c < 0x20 || c == '\\':
			return span{}, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		j++
	}
	return span{}, false
}

// skipStr checks a string that is not kept, escapes included.
func (s *scanner) skipStr() bool {
	b := s.b
	start := s.i + 1
	ascii := true
	for j := start; j < len(b); {
		j = skipPlain(b, j)
		if j == len(b) {
			break
		}
		switch c := b[j]; {
		case c == '"':
			if !ascii && !utf8.Valid(b[start:j]) {
				return false
			}
			s.i = j + 1
			return true
		case c == '\\':
			if j+1 >= len(b) {
				return false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) {
					return false
				}
				for _, h := range b[j+2 : j+6] {
					if !isHex(h) {
						return false
					}
				}
				j += 6
			default:
				return false
			}
			continue
		case c < 0x20:
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		j++
	}
	return false
}

// skipPlain returns the index of the first byte from i on that is not
// plain printable ASCII other than '"' and '\\' (len(b) if none is).
// Most of a body's bytes are such bytes inside strings, so it skips them
// eight at a time.
func skipPlain(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := specialBytes(binary.LittleEndian.Uint64(b[i : i+8])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

// specialBytes marks with its high bit each byte of w (little-endian, so
// the first byte is the lowest) that skipPlain stops at: a control
// character, '"', '\\' or a byte of a multi-byte sequence. These are the
// classic "has a byte less than n" and "has a zero byte" bit tricks: a
// byte after a marked one may be marked wrongly (a borrow), but the lowest
// mark is always right, and that is the only one used.
func specialBytes(w uint64) uint64 {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	quote, backslash := w^(ones*'"'), w^(ones*'\\')
	return ((w-ones*0x20)&^w | (quote-ones)&^quote | (backslash-ones)&^backslash | w) & highs
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number reads a number in JSON's grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() (span, bool) {
	b, start := s.b, s.i
	j := start
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && isDigit(b[j]):
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	default:
		return span{}, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if j >= len(b) || !isDigit(b[j]) {
			return span{}, false
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || !isDigit(b[j]) {
			return span{}, false
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
	}
	s.i = j
	return span{start, j}, true
}

// literal consumes lit (true, false or null).
func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// null consumes a null if one is next.
func (s *scanner) null() bool {
	return s.peek() == 'n' && s.literal("null")
}

// skipValue checks a value that is not kept.
func (s *scanner) skipValue() bool {
	switch s.peek() {
	case '"':
		return s.skipStr()
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	case '{':
		return s.object(func(span) bool { return s.skipValue() })
	case '[':
		if s.depth++; s.depth > maxScanDepth {
			return false
		}
		s.i++
		if s.peek() == ']' {
			s.i++
			s.depth--
			return true
		}
		for {
			if !s.skipValue() {
				return false
			}
			switch s.peek() {
			case ',':
				s.i++
			case ']':
				s.i++
				s.depth--
				return true
			default:
				return false
			}
		}
	}
	_, ok := s.number()
	return ok
}

// object reads an object (the '{' is next after white space), handing
// each member's key to member, which consumes the value.
func (s *scanner) object(member func(key span) bool) bool {
	if !s.expect('{') {
		return false
	}
	if s.depth++; s.depth > maxScanDepth {
		return false
	}
	if s.peek() == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.peek() != '"' {
			return false
		}
		k, ok := s.str()
		if !ok || !s.expect(':') || !member(k) {
			return false
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// text reads a string member into dst; null reads as "".
func (s *scanner) text(dst *span) bool {
	switch s.peek() {
	case '"':
		v, ok := s.str()
		*dst = v
		return ok
	case 'n':
		*dst = span{}
		return s.literal("null")
	}
	return false
}

// integer reads an integer member as fastjson's Value.Int does; null
// reads as 0.
func (s *scanner) integer(dst *int) bool {
	return scanNumber(s, dst, func(t string) (int, bool) {
		n, err := fastfloat.ParseInt64(t)
		return int(n), err == nil && int64(int(n)) == n
	})
}

// float reads a finite number member as fastjson's Value.Float64 does;
// null reads as 0.
func (s *scanner) float(dst *float64) bool {
	return scanNumber(s, dst, func(t string) (float64, bool) {
		f, err := fastfloat.Parse(t)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	})
}

// scanNumber reads a number member with parse, which reports whether the
// text is a valid value; null reads as 0.
//
// Numbers are parsed here, each occurrence of a member, not once the body
// is scanned: the general path reports a bad value even when a duplicate
// member replaces it, so a bad one must end the fast path wherever it is.
func scanNumber[T int | float64](s *scanner, dst *T, parse func(string) (T, bool)) bool {
	if s.peek() == 'n' {
		*dst = 0
		return s.literal("null")
	}
	sp, ok := s.number()
	if !ok {
		return false
	}
	v, ok := parse(s.view(sp))
	if ok {
		*dst = v
	}
	return ok
}

// view returns the text of a (non-empty) span without copying it, for
// parsing numbers: a copy would escape to the heap, as fastfloat may put
// its input into an error. The string must not outlive the call, and
// does not: the errors are dropped at once (and strconv's copy what they
// quote).
func (s *scanner) view(sp span) string {
	return unsafe.String(&s.b[sp.off], sp.len())
}
