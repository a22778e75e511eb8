package wire

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fastjson"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
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
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
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
		// Nesting at and past the limit, in the fast path's ignored members
		// and as the whole body.
		`{"event":"login","x":` + nest(31, false) + `}`, `{"event":"login","x":` + nest(32, true) + `}`,
		`{"event":"lo\u0067in","x":` + nest(32, false) + `}`, nest(2000, false), strings.Repeat(`{"a":[`, 1000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, aerr := decodeEvaluate(&testParsers, body)
		if aerr != nil {
			checkErrorShape(t, aerr)
			checkDepthError(t, body, aerr)
			return
		}
		if jsondepth.Exceeds(body, jsondepth.Limit) {
			t.Fatalf("accepted %q, nested %d deep", body, jsondepth.Depth(body))
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

// malformed (fastjson's validator and the raw-control-character check that
// closes its gap) must agree with encoding/json, the reference, on every
// valid-UTF-8 input within the depth limit.
func FuzzValidatorsAgree(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, "{\"a\":\"\t\"}", "{\"a\":\"x\ty\"}", `[1,2,]`, `01`, `1.`, `-`, `1e5`, `"\u12"`,
		`"\ud800"`, "\v{}", "{}\f", `{"a":1}x`, `nul`, `{"a" : [true, false, null, -0.5e-3]}`, "\"\x7f\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return
		}
		if jsondepth.Exceeds(b, jsondepth.Limit) {
			return // refused for depth before validation; encoding/json has no limit
		}
		if got, want := malformed(b) == nil, json.Valid(b); got != want {
			t.Fatalf("%q: wire valid %v, encoding/json valid %v", b, got, want)
		}
	})
}

// FuzzScanMatchesParse checks the evaluate decoder's fast path against the
// general one: whatever scanEvaluate accepts, parseEvaluate accepts too,
// without field errors, and reads into the same request.
func FuzzScanMatchesParse(f *testing.F) {
	for _, s := range []string{
		benchBody,
		`{"event":"login","user_id":"x","user_id":"u","device":{"languages":["de"],"languages":[],"screen_width":3},"attributes":{"a":"b","a":null}}`,
		`{"event":"login","device":{"cookie_id":"c"},"device":{"platform":"p","languages":null},"attributes":{},"attributes":null}`,
		`{"event":"login","device":{"pixel_ratio":1e2,"device_memory":0.5e-1,"screen_width":-0,"touch_points":12345678901234567890}}`,
		`{"event":"login","device":{"screen_width":1.0}}`,
		`{"event":"login","device":{"color_depth":1.0,"color_depth":0}}`,
		`{"event":"login","device":{"pixel_ratio":1e400}}`,
		`{"ev\u0065nt":"login"}`, `{"event":"lo\"gin"}`, `{"event":"Zürich ✓"}`,
		"{\"event\":\"login\",\"x\":\"\xff\"}", "{\"event\":\"login\",\"x\":\"\x01\"}",
		`{"event":"login","x":{"y":[1,-2.5e+3,true,false,null,"\u00e9\n",{}],"z":[]}}`,
		` {"event":"login"} `, `{"event":"login"}x`, `{"event":"login",}`, `{"event" "login"}`,
		`{"event":"login","device":{"languages":["a",null,"b"]}}`, `{"event":01}`, `{"event":-}`,
		`{"event":"login","ip":"203.0.113.7","password":"p\u0000w"}`, `{}`, `[]`, `null`, ``,
		`{"event":"login","x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var (
			sc      evaluateSpans
			fast    evaluateRequest
			fastDev deviceRequest
		)
		if !scanEvaluate(body, &sc) {
			return
		}
		sc.fill(body, &fast, &fastDev)
		if sc.device.present {
			fast.Device = &fastDev
		}
		slow, fs, perr := parseEvaluate(&testParsers, body)
		if perr != nil || len(fs) > 0 {
			t.Fatalf("%q: fast path accepted what the general path refuses: %v %v", body, perr, fs)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: paths disagree:\nfast %#v\nslow %#v", body, fast, slow)
		}
		if !json.Valid(body) || !utf8.Valid(body) {
			t.Fatalf("%q: fast path accepted invalid JSON", body)
		}
	})
}

// A typical body takes the fast path (else it would only be slower).
func TestScanTakesTypicalBody(t *testing.T) {
	t.Parallel()
	var (
		sc  evaluateSpans
		req evaluateRequest
		dev deviceRequest
	)
	body := []byte(benchBody)
	require.True(t, scanEvaluate(body, &sc))
	sc.fill(body, &req, &dev)
	assert.Equal(t, "login", req.Event)
	assert.Equal(t, []string{"en-US", "en"}, dev.Languages)
	assert.Equal(t, 1.25, dev.PixelRatio)
}

// Bodies near the fast path's edges decode as the general path decodes
// them: each falls back where it must, with the same errors.
func TestDecodeEvaluateEdges(t *testing.T) {
	t.Parallel()
	many := func(n int, item func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = item(i)
		}
		return strings.Join(parts, ",")
	}
	for _, tc := range []struct {
		body  string
		code  Code   // "" for success
		field string // the 422's first field
		check func(t *testing.T, ev engine.Event)
	}{
		{body: `{"event":"login"} x`, code: CodeMalformedJSON},
		{body: "{\"event\":\"login\",\"x\":\"\xc3\"}", code: CodeMalformedJSON},
		{body: "{\"event\":\"lo\x00gin\"}", code: CodeMalformedJSON},
		{body: `{"event":"login",}`, code: CodeMalformedJSON},
		{body: `{"event":"lo\u0000gin"}`, code: CodeInvalidRequest, field: "event"},
		{body: `{"event":"login","user_id":7,"user_id":"u"}`, code: CodeInvalidRequest, field: "user_id"},
		{body: `{"event":"login","device":{"screen_width":1.5}}`, code: CodeInvalidRequest, field: "device.screen_width"},
		{body: `{"event":"login","device":{"pixel_ratio":1e999}}`, code: CodeInvalidRequest, field: "device.pixel_ratio"},
		// A bad value counts even when a duplicate member replaces it.
		{body: `{"event":"login","device":{"color_depth":1.0,"color_depth":24}}`, code: CodeInvalidRequest, field: "device.color_depth"},
		{body: `{"event":"login","device":{"screen_width":-1e400},"device":null}`, code: CodeInvalidRequest, field: "device.screen_width"},
		{body: `{"event":"login","device":{"pixel_ratio":1e999},"device":{}}`, code: CodeInvalidRequest, field: "device.pixel_ratio"},
		{body: `{"event":1,"event":"login"}`, code: CodeInvalidRequest, field: "event"},
		{body: `{"event":"login","ip":"fe80::1%eth0"}`, code: CodeInvalidRequest, field: "ip"},
		{body: `[]`, code: CodeInvalidRequest, field: "(body)"},
		{body: `null`, code: CodeInvalidRequest, field: "event"},
		{body: `{"ev\u0065nt":"lo\u0067in","x":{"y":["\ud800"]}}`, check: func(t *testing.T, ev engine.Event) {
			assert.Equal(t, "login", ev.Kind)
		}},
		{body: ` {"event":"login","device":{"languages":[` + many(20, func(i int) string { return `"l` + string(rune('a'+i)) + `"` }) + `]}} `,
			check: func(t *testing.T, ev engine.Event) { assert.Len(t, ev.Device.Languages, 20) }},
		{body: `{"event":"login","attributes":{` + many(20, func(i int) string { return `"k` + string(rune('a'+i)) + `":"v"` }) + `}}`,
			check: func(t *testing.T, ev engine.Event) { assert.Len(t, ev.Attributes, 20) }},
		{body: `{"event":"login","device":{"languages":[]},"attributes":{}}`, check: func(t *testing.T, ev engine.Event) {
			assert.Equal(t, []string{}, ev.Device.Languages)
			assert.Nil(t, ev.Attributes)
		}},
		{body: `{"event":"Zürich","device":{"screen_width":-0,"device_memory":0.5e1}}`, check: func(t *testing.T, ev engine.Event) {
			assert.Equal(t, "Zürich", ev.Kind)
			assert.Equal(t, 5.0, ev.Device.DeviceMemory)
		}},
	} {
		ev, err := decodeEvaluate(&testParsers, []byte(tc.body))
		if tc.code == "" {
			require.Nil(t, err, "%s", tc.body)
			tc.check(t, ev)
			continue
		}
		require.NotNil(t, err, "%s", tc.body)
		assert.Equal(t, tc.code, err.Code, "%s", tc.body)
		if tc.field != "" && assert.NotEmpty(t, err.Fields, "%s", tc.body) {
			assert.Equal(t, tc.field, err.Fields[0].Field, "%s", tc.body)
		}
	}
}

// randomBody builds an evaluate body of known and unknown members, with
// duplicates, nulls, odd numbers, escapes, non-ASCII text and white space:
// the inputs the fast path must agree on, which mutation-based fuzzing
// rarely reaches.
func randomBody(r *rand.Rand) []byte {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	ws := func() string { return pick("", "", "", " ", "\n\t", "\r\n  ") }
	str := func() string {
		return pick(`""`, `"login"`, `"Zürich ✓"`, `"a\"b"`, `"\u00e9"`, `"tab\there"`, `"x/y"`, `"\/"`,
			`"0123456789abcdefghij"`, `"203.0.113.7"`, `"::ffff:10.0.0.1"`, `"\ud83d\ude00"`, `null`)
	}
	num := func() string {
		return pick("0", "-0", "1", "1920", "1.25", "-3", "1e2", "2E-3", "0.1", "12345678901234567890", "1.0", "null", "1048577")
	}
	var value func(depth int) string
	value = func(depth int) string {
		switch n := r.IntN(7); {
		case n == 0 && depth < 3:
			return "[" + ws() + value(depth+1) + ws() + "," + value(depth+1) + "]"
		case n == 1 && depth < 3:
			return "{" + ws() + `"k"` + ws() + ":" + value(depth+1) + "}"
		case n == 2:
			return num()
		case n == 3:
			return pick("true", "false", "null", "[]", "{}")
		default:
			return str()
		}
	}
	member := func(key, v string) string { return ws() + `"` + key + `"` + ws() + ":" + ws() + v + ws() }
	list := func(n int, item func() string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = item()
		}
		return strings.Join(parts, ",")
	}
	device := func() string {
		if r.IntN(5) == 0 {
			return "null"
		}
		return "{" + list(r.IntN(6), func() string {
			switch k := pick("cookie_id", "platform", "timezone", "canvas_hash", "webgl_hash", "webgl_renderer", "languages",
				"screen_width", "screen_height", "color_depth", "pixel_ratio", "hardware_concurrency", "device_memory", "touch_points", "other"); k {
			case "languages":
				return member(k, pick("null", "[]", "["+list(1+r.IntN(3), str)+"]"))
			case "cookie_id", "platform", "timezone", "canvas_hash", "webgl_hash", "webgl_renderer":
				return member(k, str())
			case "other":
				return member(k, value(0))
			default:
				return member(k, num())
			}
		}) + "}"
	}
	members := list(r.IntN(9), func() string {
		switch k := pick("event", "user_id", "identifier", "ip", "user_agent", "ja4", "password", "device", "attributes", "x", "Event"); k {
		case "device":
			return member(k, device())
		case "attributes":
			return member(k, pick("null", "{}", "{"+list(1+r.IntN(3), func() string { return member(pick("a", "b", "é"), str()) })+"}"))
		case "x", "Event":
			return member(k, value(0))
		default:
			return member(k, str())
		}
	})
	return []byte(ws() + "{" + members + "}" + ws())
}

// TestScanMatchesParseRandom runs the fast path and the general one on
// random well-formed bodies: where the fast path takes a body, both read
// it alike.
func TestScanMatchesParseRandom(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	taken := 0
	for range 20000 {
		body := randomBody(r)
		require.True(t, json.Valid(body), "%s", body)
		var (
			sc   evaluateSpans
			fast evaluateRequest
			dev  deviceRequest
		)
		if !scanEvaluate(body, &sc) {
			continue
		}
		sc.fill(body, &fast, &dev)
		taken++
		if sc.device.present {
			fast.Device = &dev
		}
		slow, fs, perr := parseEvaluate(&testParsers, body)
		require.Nil(t, perr, "%s", body)
		require.Empty(t, fs, "%s", body)
		require.Equal(t, slow, fast, "%s", body)
	}
	assert.Greater(t, taken, 2000, "too few bodies took the fast path to tell")
}
