package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
)

// Request bodies are decoded in two steps, both measured to matter for
// throughput (encoding/json's reflection decoder took a quarter of an
// evaluate request's CPU time):
//
//  1. a nesting check (jsondepth: arrays and objects more than
//     jsondepth.Limit levels deep are a 400 malformed_json before anything
//     recursive runs: fastjson's validator recurses without a limit and
//     its parser builds an error per level), a UTF-8 check and fastjson's
//     strict validator (which agrees with
//     encoding/json's json.Valid: FuzzValidatorsAgree) decide whether the
//     body is one well-formed JSON value: anything else, trailing data
//     included, is a 400 malformed_json;
//  2. fastjson parses it (a pooled parser, no reflection) and the request
//     is read field by field, collecting every field of the wrong JSON type
//     in one pass, for one 422 that lists them all.
//
// Field names are matched exactly (case-sensitively); unknown fields are
// ignored; a duplicated field takes its last value; null is the same as an
// absent field.
//
// The evaluate body, the hot one, first tries a one-pass fast path
// (evaluate_scan.go) that falls back on these steps for anything unusual.

// Decoder decodes request bodies: its methods are the decoders of the
// risk API (DecodeEvaluate, DecodeOutcome) and of the sign-in and account
// API (DecodeAuthn). The zero value is ready to use. It is safe for
// concurrent use and must not be copied after first use: it pools the
// JSON parsers.
type Decoder struct {
	parsers fastjson.ParserPool
}

// msgTooDeep is the message of a body nested deeper than jsondepth.Limit.
var msgTooDeep = "the JSON nests arrays and objects more than " + strconv.Itoa(jsondepth.Limit) + " levels deep"

// malformed checks step 1.
func malformed(body []byte) *Error {
	if jsondepth.Exceeds(body, jsondepth.Limit) {
		return apiErr(CodeMalformedJSON, msgTooDeep)
	}
	if !utf8.Valid(body) {
		return apiErr(CodeMalformedJSON, "the body is not valid UTF-8")
	}
	if fastjson.ValidateBytes(body) != nil {
		var v any
		msg := "the body is not one well-formed JSON value"
		if err := json.Unmarshal(body, &v); err != nil { // only for the message
			msg = "malformed JSON: " + err.Error()
		}
		return apiErr(CodeMalformedJSON, msg)
	}
	if bytes.IndexByte(body, '\\') >= 0 && controlInString(body) {
		return apiErr(CodeMalformedJSON, "malformed JSON: a string holds a raw control character")
	}
	return nil
}

// controlInString reports whether a string in the (otherwise valid) body
// holds a raw control character. fastjson's validator checks only the part
// of a string after its last escape sequence, so "\x1c\\n" passes it; the
// gap is closed here rather than by a second full validator, and only for
// bodies with a backslash, the only ones the gap can affect.
func controlInString(body []byte) bool {
	in, esc := false, false
	for _, c := range body {
		switch {
		case esc:
			esc = false
		case !in:
			in = c == '"'
		case c == '\\':
			esc = true
		case c == '"':
			in = false
		case c < 0x20:
			return true
		}
	}
	return false
}

// parseObject runs both steps and hands the top-level object (nil for a
// body that is JSON null) to use, which reads it into the caller's request
// and records type errors. It returns those errors, or the error that
// ends decoding: malformed_json, or a 422 for a body that is no object.
func parseObject(pp *fastjson.ParserPool, body []byte, use func(*fastjson.Object, *fieldErrors)) (fieldErrors, *Error) {
	if err := malformed(body); err != nil {
		return nil, err
	}
	p := pp.Get()
	defer pp.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil { // cannot happen: fastjson refuses valid JSON only past fastjson.MaxDepth (300)
		return nil, apiErr(CodeMalformedJSON, msgTooDeep)
	}
	var fs fieldErrors
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		use(o, &fs)
	case fastjson.TypeNull:
		use(nil, &fs)
	default:
		return nil, invalid([]engine.FieldError{{Field: "(body)", Message: "want an object"}})
	}
	return fs, nil
}

// fieldErrors collects field errors in request order, one per field.
type fieldErrors []engine.FieldError

func (fs *fieldErrors) add(field, msg string) {
	if !fs.has(field) {
		*fs = append(*fs, engine.FieldError{Field: field, Message: msg})
	}
}

func (fs fieldErrors) has(field string) bool {
	for _, f := range fs {
		if f.Field == field {
			return true
		}
	}
	return false
}

// str reads a string field; null reads as "".
func (fs *fieldErrors) str(field string, v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b)
	case fastjson.TypeNull:
	default:
		fs.add(field, "want a string")
	}
	return ""
}

// integer reads an integer field; null reads as 0.
func (fs *fieldErrors) integer(field string, v *fastjson.Value) int {
	switch v.Type() {
	case fastjson.TypeNumber:
		if n, err := v.Int(); err == nil {
			return n
		}
		fs.add(field, "want an integer in range")
	case fastjson.TypeNull:
	default:
		fs.add(field, "want an integer in range")
	}
	return 0
}

// number reads a number field; null reads as 0.
func (fs *fieldErrors) number(field string, v *fastjson.Value) float64 {
	switch v.Type() {
	case fastjson.TypeNumber:
		if f, err := v.Float64(); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f
		}
		fs.add(field, "want a number in range")
	case fastjson.TypeNull:
	default:
		fs.add(field, "want a number")
	}
	return 0
}

// object returns the object of an object field; nil for null.
func (fs *fieldErrors) object(field, want string, v *fastjson.Value) *fastjson.Object {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return o
	case fastjson.TypeNull:
	default:
		fs.add(field, want)
	}
	return nil
}

// checkString adds an error when s holds a NUL byte or is longer than max
// bytes (max <= 0: no length limit here).
func (fs *fieldErrors) checkString(field, s string, max int) {
	switch {
	case strings.IndexByte(s, 0) >= 0:
		fs.add(field, "must not contain NUL bytes")
	case max > 0 && len(s) > max:
		fs.add(field, fmt.Sprintf("longer than %d bytes", max))
	}
}

// attributes reads an object of strings (null members read as ""); a
// member of another type is an error named field.key.
func (fs *fieldErrors) attributes(field string, v *fastjson.Value) map[string]string {
	a := fs.object(field, "want an object of strings", v)
	if a == nil {
		return nil
	}
	m := make(map[string]string, a.Len())
	a.Visit(func(k []byte, v *fastjson.Value) {
		key := string(k)
		switch v.Type() {
		case fastjson.TypeString:
			b, _ := v.StringBytes()
			m[key] = string(b)
		case fastjson.TypeNull:
			m[key] = ""
		default:
			fs.add(field+"."+key, "want a string")
		}
	})
	return m
}

// ip parses an IP address field (IPv4-mapped addresses unmapped); the zero
// Addr with an error recorded when s is no address or has a zone.
func (fs *fieldErrors) ip(field, s string) netip.Addr {
	ip, err := netip.ParseAddr(s)
	switch {
	case err != nil:
		fs.add(field, "want an IPv4 or IPv6 address")
	case ip.Zone() != "":
		fs.add(field, "want an IP address without a zone")
	default:
		return ip.Unmap()
	}
	return netip.Addr{}
}
