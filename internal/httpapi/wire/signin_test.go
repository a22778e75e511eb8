package wire

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
)

func TestDecodeAuth(t *testing.T) {
	t.Parallel()
	b, err := decodeAuth(&testParsers, specLogin, []byte(`{"identifier":"x","identifier":"a@b.example","user_id":"u","aal":2,"client":{"ip":"::ffff:10.0.0.1","device":{"cookie_id":"c"},"attributes":{"app":"web"}}}`))
	require.Nil(t, err)
	assert.Equal(t, map[string]string{"identifier": "a@b.example"}, b.values, "undeclared members are not bound")
	assert.True(t, b.client.hasIP)
	assert.Equal(t, "c", b.client.Device.CookieID)
	assert.Equal(t, map[string]string{"app": "web"}, b.client.Attributes)

	b, err = decodeAuth(&testParsers, specEmpty, nil)
	require.Nil(t, err, "an empty body is {}")
	assert.Empty(t, b.values)

	_, err = decodeAuth(&testParsers, specRegister, []byte(`{"email":"a@b.example","password":"hunter2hunter2","client":{"ip":"nope"}}`))
	require.NotNil(t, err)
	assert.NotContains(t, string(err.body()), "hunter2", "a password is never echoed")
}

// TestDecodeVerifyEmail: the verification body carries the app's
// registration secret when it has one; it is optional, bounded, and never
// empty when present.
func TestDecodeVerifyEmail(t *testing.T) {
	t.Parallel()
	var d Decoder
	tests := []struct {
		name, body string
		secret     string
		field      string
	}{
		{"token only", `{"token":"tok"}`, "", ""},
		{"with the secret", `{"token":"tok","registration_secret":"sec","client":{"device":{"cookie_id":"c"}}}`, "sec", ""},
		{"empty secret", `{"token":"tok","registration_secret":""}`, "", "registration_secret"},
		{"secret too long", `{"token":"tok","registration_secret":"` + strings.Repeat("s", MaxSecretBytes+1) + `"}`, "", "registration_secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := d.DecodeAuthn(ShapeVerifyEmail, []byte(tc.body))
			if tc.field != "" {
				var we *Error
				require.ErrorAs(t, err, &we)
				require.Len(t, we.Fields, 1)
				assert.Equal(t, tc.field, we.Fields[0].Field)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "tok", b.Token)
			assert.Equal(t, tc.secret, b.RegistrationSecret)
		})
	}
}

// FuzzAuthRequest feeds arbitrary bodies to every sign-in body decoder: it
// never panics; a failure is a 400 malformed_json or a 422 invalid_request
// naming at least one field, in the stable shape; a success holds only
// declared members, within their limits and free of NUL bytes, and a valid
// client.
func FuzzAuthRequest(f *testing.F) {
	for _, s := range []string{
		`{"email":"a@b.example","password":"correct horse battery staple"}`,
		`{"identifier":"a@b.example","client":{"ip":"192.0.2.1","user_agent":"ua","device":{"cookie_id":"c","languages":["de"]},"attributes":{"k":"v"}}}`,
		`{"flow_id":"abc","code":"123456"}`, `{"token":"t"}`, `{}`, `null`, `[]`, `{"password":"\u0000"}`,
		`{"client":{"attributes":{"a":1}}}`, `{"flow_id":null}`, "{\"token\":\"\xff\"}",
		`{"client":{"device":{"languages":` + nest(29, false) + `}}}`, `{"x":` + nest(32, true) + `}`,
		nest(2000, false), strings.Repeat(`{"a":[`, 1000),
	} {
		for i := range allSpecs {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		spec := allSpecs[int(which)%len(allSpecs)]
		b, aerr := decodeAuth(&testParsers, spec, body)
		if aerr != nil {
			checkDepthError(t, body, aerr)
			if aerr.Code != CodeMalformedJSON && aerr.Code != CodeInvalidRequest {
				t.Fatalf("unexpected code %s", aerr.Code)
			}
			if aerr.Code == CodeInvalidRequest && len(aerr.Fields) == 0 {
				t.Fatal("422 without fields")
			}
			out := aerr.body()
			if !json.Valid(out) || !utf8.Valid(out) {
				t.Fatalf("error body is not valid JSON: %q", out)
			}
			return
		}
		if jsondepth.Exceeds(body, jsondepth.Limit) {
			t.Fatalf("accepted %q, nested %d deep", body, jsondepth.Depth(body))
		}
		for k, v := range b.values {
			var spec0 *fieldSpec
			for i := range spec.fields {
				if spec.fields[i].name == k {
					spec0 = &spec.fields[i]
				}
			}
			if spec0 == nil {
				t.Fatalf("undeclared member %q bound", k)
			}
			if len(v) > spec0.max || strings.IndexByte(v, 0) >= 0 || v == "" {
				t.Fatalf("member %q accepted out of bounds: %d bytes", k, len(v))
			}
		}
		for _, f := range spec.fields {
			if _, ok := b.values[f.name]; f.required && !ok {
				t.Fatalf("required member %q missing yet accepted", f.name)
			}
		}
		if b.client.hasIP {
			if _, err := strconv.Unquote(strconv.Quote(b.client.IP)); err != nil {
				t.Fatal(err)
			}
		}
		if len(b.client.UserAgent) > maxUserAgent {
			t.Fatal("user agent over the limit accepted")
		}
	})
}

// Every member a shape declares reaches its own AuthnBody field: a name
// missing from export would be decoded and then silently dropped.
func TestAuthnBodyExportsEveryMember(t *testing.T) {
	t.Parallel()
	var d Decoder
	for shape := ShapeRegister; shape < shapeEnd; shape++ {
		body := map[string]string{}
		for _, f := range shapes[shape].fields {
			body[f.name] = "v-" + f.name
		}
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		b, err := d.DecodeAuthn(shape, raw)
		require.NoError(t, err, "shape %d", shape)
		got, err := json.Marshal(b)
		require.NoError(t, err)
		for name := range body {
			assert.Contains(t, string(got), `"v-`+name+`"`, "shape %d: member %q not exported", shape, name)
		}
	}
	assert.Len(t, shapes, int(shapeEnd), "a shape without a spec")
}

// FuzzDecodeDevice: any form value decodes to a bounded descriptor or an
// error, never a panic, and a valid descriptor survives the trip.
func FuzzDecodeDevice(f *testing.F) {
	f.Add([]byte(`{"platform":"Linux x86_64","languages":["de-CH","en"],"timezone":"Europe/Zurich","screen_width":1920,"cookie_id":"0123456789abcdef"}`))
	f.Add([]byte(`1},"x":{`))
	f.Add([]byte(`{"languages":[1]}`))
	f.Add([]byte(``))
	var d Decoder
	f.Fuzz(func(t *testing.T, raw []byte) {
		dev, err := d.DecodeDevice(raw)
		if err != nil {
			if dev != nil {
				t.Fatal("a descriptor with an error")
			}
			return
		}
		if dev == nil {
			t.Fatal("no descriptor and no error")
		}
		if len(dev.Platform) > maxDeviceString || len(dev.Languages) > maxLanguages || len(dev.CookieID) > maxDeviceString {
			t.Fatalf("unbounded descriptor: %+v", dev)
		}
	})
}
