package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/engine"
)

var testParsers fastjson.ParserPool

// The wire device descriptor mirrors the engine's: a field added there must
// be added here (and to openapi.json) on purpose.
func TestDeviceRequestMirrorsEngine(t *testing.T) {
	t.Parallel()
	names := func(typ reflect.Type) map[string]reflect.Type {
		out := map[string]reflect.Type{}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _ := jsonTag(f)
			out[name] = f.Type
		}
		return out
	}
	assert.Equal(t, names(reflect.TypeFor[engine.DeviceDescriptor]()), names(reflect.TypeFor[deviceRequest]()))
}

func TestDecodeEvaluate(t *testing.T) {
	t.Parallel()
	ev, err := decodeEvaluate(&testParsers, []byte(`{"event":"login","user_id":"x","USER_ID":"ignored","user_id":"u","ip":"::ffff:10.1.2.3","device":{"languages":["de"],"screen_width":3},"attributes":{"a":"b"},"password":"pw"}`))
	require.Nil(t, err)
	assert.Equal(t, engine.Event{
		Kind: "login", UserID: "u", IP: ev.IP, Password: "pw",
		Device:     &engine.DeviceDescriptor{Languages: []string{"de"}, ScreenWidth: 3},
		Attributes: map[string]string{"a": "b"},
	}, ev)
	assert.Equal(t, "10.1.2.3", ev.IP.String())

	_, err = decodeEvaluate(&testParsers, []byte(`{"event":"login","password":"hunter2hunter2","user_id":7}`))
	require.NotNil(t, err)
	assert.NotContains(t, string(err.body()), "hunter2", "a password is never echoed")
}

// roundTripBody renders a decoded event as a request body again.
func roundTripBody(ev engine.Event) []byte {
	req := evaluateRequest{
		Event: ev.Kind, UserID: ev.UserID, Identifier: ev.Identifier, UserAgent: ev.UserAgent,
		JA4: ev.JA4, Attributes: ev.Attributes, Password: ev.Password,
	}
	if ev.IP.IsValid() {
		req.IP = ev.IP.String()
	}
	if d := ev.Device; d != nil {
		req.Device = &deviceRequest{
			CookieID: d.CookieID, Platform: d.Platform, Languages: d.Languages, Timezone: d.Timezone,
			ScreenWidth: d.ScreenWidth, ScreenHeight: d.ScreenHeight, ColorDepth: d.ColorDepth,
			PixelRatio: d.PixelRatio, HardwareConcurrency: d.HardwareConcurrency, DeviceMemory: d.DeviceMemory,
			CanvasHash: d.CanvasHash, WebGLHash: d.WebGLHash, WebGLRenderer: d.WebGLRenderer, TouchPoints: d.TouchPoints,
		}
	}
	b, err := json.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzEvaluateRequest feeds arbitrary bodies to the evaluate decoder: it
// never panics; a failure is a 400 malformed_json or a 422 invalid_request
// with at least one field, rendered in the stable shape as valid JSON; a
// success is a valid event that survives a round trip through the wire
// format unchanged.
func FuzzEvaluateRequest(f *testing.F) {
	for _, s := range []string{
		`{"event":"login","user_id":"u1","ip":"203.0.113.7","user_agent":"Mozilla/5.0","device":{"cookie_id":"abc12345","languages":["en-US"],"screen_width":1920,"pixel_ratio":1.5},"attributes":{"app":"web"},"password":"pw"}`,
		`{"event":"registration","identifier":"A@b.c","ip":"2001:db8::1"}`,
		`{"event":1,"device":{"screen_width":"x"},"attributes":{"a":1}}`,
		`{"event":"login","attributes":{"k":"\u0000"}}`,
		`{"event":"login"} trailing`,
		"{\"event\":\"\xff\"}",
		`[]`, `null`, ``, `{"event":"login","device":null,"attributes":null}`,
		`{"event":"login","ip":"fe80::1%eth0"}`,
		`{"Event":"login","EVENT":"mfa"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, aerr := decodeEvaluate(&testParsers, body)
		if aerr != nil {
			checkErrorShape(t, aerr)
			return
		}
		if err := ev.Validate(); err != nil {
			// Left to the engine, whose ValidationError becomes a 422.
			var ve *engine.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("event fails validation without fields: %v", err)
			}
			checkErrorShape(t, invalid(ve.Fields))
		}
		again, aerr := decodeEvaluate(&testParsers, roundTripBody(ev))
		if aerr != nil {
			t.Fatalf("round trip of %q failed: %v", body, aerr)
		}
		if !reflect.DeepEqual(normalise(ev), normalise(again)) {
			t.Fatalf("round trip changed the event:\n%#v\n%#v", ev, again)
		}
	})
}

// normalise maps empty collections to nil: omitempty drops them on the wire.
func normalise(ev engine.Event) engine.Event {
	if len(ev.Attributes) == 0 {
		ev.Attributes = nil
	}
	if ev.Device != nil && len(ev.Device.Languages) == 0 {
		d := *ev.Device
		d.Languages = nil
		ev.Device = &d
	}
	return ev
}

func checkErrorShape(t *testing.T, e *Error) {
	t.Helper()
	switch e.Code {
	case CodeMalformedJSON:
		if len(e.Fields) != 0 {
			t.Fatalf("400 with fields: %v", e)
		}
	case CodeInvalidRequest:
		if len(e.Fields) == 0 {
			t.Fatalf("422 without fields: %v", e)
		}
	default:
		t.Fatalf("unexpected code %q", e.Code)
	}
	if s := e.Code.Status(); s != http.StatusBadRequest && s != http.StatusUnprocessableEntity {
		t.Fatalf("status %d", s)
	}
	b := e.body()
	var shape struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Fields  []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"fields"`
		} `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&shape); err != nil || !utf8.Valid(b) {
		t.Fatalf("error body %q is not the stable shape: %v", b, err)
	}
	if shape.Error.Code != string(e.Code) || shape.Error.Message == "" {
		t.Fatalf("error body %q", b)
	}
	for _, f := range shape.Error.Fields {
		if f.Field == "" || f.Message == "" || strings.ContainsAny(f.Field, "\x00\n\r") {
			t.Fatalf("bad field entry in %q", b)
		}
	}
}

func TestCodeTable(t *testing.T) {
	t.Parallel()
	for code, status := range codeStatus {
		assert.Equal(t, status, code.Status(), code)
		assert.GreaterOrEqual(t, status, 400)
	}
	assert.Equal(t, http.StatusInternalServerError, Code("nope").Status())
}

func TestSafeText(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "attributes.ok", safeText("attributes.ok", 128))
	assert.Equal(t, "a\uFFFDb\uFFFD", safeText("a\x00b\xff", 128))
	assert.Equal(t, "abc…", safeText("abcdef", 3))
	assert.True(t, utf8.ValidString(safeText(strings.Repeat("é", 100), 7)))
}

// fastjson's validator decides what is malformed; it must agree with
// encoding/json's, the reference, on every valid-UTF-8 input.
func FuzzValidatorsAgree(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, "{\"a\":\"\t\"}", "{\"a\":\"x\ty\"}", `[1,2,]`, `01`, `1.`, `-`, `1e5`, `"\u12"`,
		`"\ud800"`, "\v{}", "{}\f", `{"a":1}x`, `nul`, `{"a" : [true, false, null, -0.5e-3]}`, "\"\x7f\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return
		}
		if got, want := fastjson.ValidateBytes(b) == nil, json.Valid(b); got != want {
			t.Fatalf("%q: fastjson valid %v, encoding/json valid %v", b, got, want)
		}
	})
}
