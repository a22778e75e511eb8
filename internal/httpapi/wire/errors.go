package wire

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/riskauth/riskauth/engine"
)

// Code is the stable "code" of a decoding error. The HTTP layer maps it
// to a status through its one table, like every other code.
type Code string

// The codes a decoder answers with.
const (
	// CodeMalformedJSON: the body is not one well-formed JSON value (not
	// UTF-8, bad syntax, trailing data, nested too deeply). No fields.
	CodeMalformedJSON Code = "malformed_json"
	// CodeInvalidRequest: the body is JSON but members are of the wrong
	// type, missing or invalid; Fields lists each one.
	CodeInvalidRequest Code = "invalid_request"
)

// Error is why a decoder refused a body: every error the decoders return
// is an *Error. The HTTP layer renders it as the one error shape
// (ErrorBody) with the status of its code.
type Error struct {
	Code    Code
	Message string
	// Fields lists each invalid member, in request order, one entry per
	// member (CodeInvalidRequest only). Field names may echo the request
	// (attribute keys): ErrorBody makes them safe to send.
	Fields []engine.FieldError
}

// Error implements error: the code, the message and every field.
func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return string(e.Code) + ": " + e.Message
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return string(e.Code) + ": " + e.Message + " (" + strings.Join(parts, "; ") + ")"
}

func apiErr(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Invalid returns the CodeInvalidRequest error that lists fields.
func Invalid(fields []engine.FieldError) *Error { return invalid(fields) }

func invalid(fields []engine.FieldError) *Error {
	return &Error{Code: CodeInvalidRequest, Message: "the request has missing or invalid fields", Fields: fields}
}

// errorBody is the wire shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Fields  []fieldError `json:"fields,omitempty"`
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ErrorBody renders the one error shape of the API,
//
//	{"error": {"code": "...", "message": "...", "fields": [{"field": "...", "message": "..."}]}}
//
// with "fields" left out when there are none. Field names and messages are
// made safe to echo: valid UTF-8, no control characters, bounded length.
func ErrorBody(code, message string, fields []engine.FieldError) []byte {
	b := errorBody{Error: errorDetail{Code: code, Message: message}}
	if len(fields) > 0 {
		b.Error.Fields = make([]fieldError, len(fields))
		for i, f := range fields {
			b.Error.Fields[i] = fieldError{Field: safeText(f.Field, 128), Message: safeText(f.Message, 512)}
		}
	}
	out, err := json.Marshal(b)
	if err != nil { // cannot happen: only strings
		return []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	return out
}

// safeText truncates s to at most n bytes on a rune boundary and replaces
// invalid UTF-8 and control characters with U+FFFD.
func safeText(s string, n int) string {
	clean := true
	for i, r := range s {
		if i >= n || r == utf8.RuneError || r < 0x20 || r == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i >= n {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || r < 0x20 || r == 0x7f {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}
