package ocsf

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// writer appends JSON. One flag (comma) is enough to place separators at
// any depth: it is false right after an opening bracket or a key and true
// after any complete value.
type writer struct {
	b     []byte
	comma bool
}

func (w *writer) sep() {
	if w.comma {
		w.b = append(w.b, ',')
	}
	w.comma = false
}

func (w *writer) open() {
	w.sep()
	w.b = append(w.b, '{')
}

func (w *writer) close() {
	w.b = append(w.b, '}')
	w.comma = true
}

func (w *writer) openArr() {
	w.sep()
	w.b = append(w.b, '[')
}

func (w *writer) closeArr() {
	w.b = append(w.b, ']')
	w.comma = true
}

// key writes "k": — keys are constants or validated names, but escape
// anyway: attribute keys come from callers.
func (w *writer) key(k string) {
	w.sep()
	w.b = appendString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *writer) obj(k string) { w.key(k); w.open() }
func (w *writer) arr(k string) { w.key(k); w.openArr() }

func (w *writer) str(s string) {
	w.sep()
	w.b = appendString(w.b, s)
	w.comma = true
}

func (w *writer) int(n int64) {
	w.sep()
	w.b = strconv.AppendInt(w.b, n, 10)
	w.comma = true
}

func (w *writer) float(f float64) {
	w.sep()
	w.b = appendFloat(w.b, f)
	w.comma = true
}

func (w *writer) bool(v bool) {
	w.sep()
	w.b = strconv.AppendBool(w.b, v)
	w.comma = true
}

func (w *writer) raw(s string) {
	w.sep()
	w.b = append(w.b, s...)
	w.comma = true
}

// any renders an evidence value: the scalar kinds rules read without
// reflection, anything else through encoding/json (null if that fails,
// so one odd value never loses a whole alert).
func (w *writer) any(v any) {
	switch x := v.(type) {
	case nil:
		w.raw("null")
	case bool:
		w.bool(x)
	case int:
		w.int(int64(x))
	case int64:
		w.int(x)
	case float64:
		w.float(x)
	case string:
		w.str(x)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			w.raw("null")
			return
		}
		w.sep()
		w.b = append(w.b, b...)
		w.comma = true
	}
}

func (w *writer) strField(k, v string) { w.key(k); w.str(v) }
func (w *writer) intField(k string, v int64) {
	w.key(k)
	w.int(v)
}
func (w *writer) floatField(k string, v float64) { w.key(k); w.float(v) }
func (w *writer) boolField(k string, v bool)     { w.key(k); w.bool(v) }

// optStr writes the field only when v is set: OCSF consumers treat an
// absent attribute and an empty one alike, and absent is shorter.
func (w *writer) optStr(k, v string) {
	if v != "" {
		w.strField(k, v)
	}
}

// stringMap writes m with sorted keys, for byte-stable output (golden
// files, de-duplication by content in downstream stores).
func (w *writer) stringMap(m map[string]string) {
	w.open()
	var stack [16]string
	keys := stack[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		w.strField(k, m[k])
	}
	w.close()
}

// appendFloat formats like encoding/json, so the feature snapshot is
// byte-identical to json.Marshal(*rules.Features). JSON has no NaN or
// infinity; encoding/json fails the whole value there, which would lose
// the alert, so they become null instead (FeaturesFromMap then reports the
// field when a backtest reads it back).
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// ASCII bytes that need no escaping, as two bit sets (bytes 0-63, 64-127):
// control characters, '"', '\\' and, as encoding/json does by default,
// '<', '>' and '&' are escaped; everything else is copied.
const (
	safeLo = uint64(0xFFFFFFFF00000000) &^ (1<<'"' | 1<<'&' | 1<<'<' | 1<<'>')
	safeHi = ^uint64(0) &^ (1 << ('\\' - 64))
)

// plain[c] reports a byte copied as is: safe ASCII. Bytes of multi-byte
// UTF-8 sequences are not plain, so the slow path validates them.
var plain = func() (t [256]bool) {
	for c := range utf8.RuneSelf {
		t[c] = safeASCII(byte(c))
	}
	return t
}()

func safeASCII(c byte) bool {
	if c < 64 {
		return safeLo>>c&1 != 0
	}
	return safeHi>>(c-64)&1 != 0
}

// appendString quotes s exactly as encoding/json does with HTML escaping
// (its default), for the same byte-identity reason as appendFloat.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	// Fast path: most strings (every key, ids, rule names) need no
	// escaping; one table lookup per byte finds out, then one copy.
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
		if c := s[i]; c < utf8.RuneSelf {
			if safeASCII(c) {
				i++
				continue
			}
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
