package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

func TestDecodeProfilePatch(t *testing.T) {
	t.Parallel()
	var d Decoder
	tests := []struct {
		name   string
		body   string
		fields map[string]string
		attrs  map[string]string
		bad    []string // fields of the 422, in order
		code   Code
	}{
		{name: "fields and attributes",
			body:   `{"display_name":"Zoë","locale":null,"attributes":{"tier":"gold","points":42,"x":null,"ok":true}}`,
			fields: map[string]string{"display_name": "Zoë", "locale": ""},
			attrs:  map[string]string{"tier": `"gold"`, "points": "42", "x": "null", "ok": "true"}},
		{name: "empty object", body: `{}`, fields: map[string]string{}, attrs: map[string]string{}},
		{name: "attributes null", body: `{"attributes":null}`, fields: map[string]string{}, attrs: map[string]string{}},
		{name: "unknown members are named", body: `{"email":"a@b.example","nickname":"z"}`, bad: []string{"email", "nickname"}},
		{name: "wrong types", body: `{"given_name":3,"attributes":{"a":[1],"b":{"c":1}}}`, bad: []string{"given_name", "attributes.a", "attributes.b"}},
		{name: "attributes not an object", body: `{"attributes":"x"}`, bad: []string{"attributes"}},
		{name: "NUL", body: `{"family_name":"a\u0000b"}`, bad: []string{"family_name"}},
		{name: "too long", body: `{"display_name":"` + strings.Repeat("a", maxProfileFieldBytes+1) + `"}`, bad: []string{"display_name"}},
		{name: "body null", body: `null`, bad: []string{"(body)"}},
		{name: "body array", body: `[]`, bad: []string{"(body)"}},
		{name: "malformed", body: `{"display_name":`, code: CodeMalformedJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := d.DecodeProfilePatch([]byte(tt.body))
			if tt.bad == nil && tt.code == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.fields, p.Fields)
				got := map[string]string{}
				for k, v := range p.Attributes {
					got[k] = string(v)
				}
				assert.Equal(t, tt.attrs, got)
				return
			}
			var we *Error
			require.True(t, errors.As(err, &we), "%v", err)
			if tt.code != "" {
				assert.Equal(t, tt.code, we.Code)
				return
			}
			assert.Equal(t, CodeInvalidRequest, we.Code)
			var names []string
			for _, f := range we.Fields {
				names = append(names, f.Field)
			}
			assert.Equal(t, tt.bad, names)
		})
	}
}

// FuzzProfilePatch: any body decodes or fails with a 400/422 in the stable
// shape; a success holds only standard fields and attribute values that
// are well-formed JSON scalars within their bounds.
func FuzzProfilePatch(f *testing.F) {
	for _, s := range []string{
		`{"display_name":"Zoë","attributes":{"tier":"gold","n":1.5e3,"b":false,"x":null}}`, `{}`, `null`, `[]`,
		`{"locale":"de-CH","time_zone":"Europe/Zurich"}`, `{"attributes":{"a":{"b":1}}}`, `{"x":1}`,
		"{\"display_name\":\"\xff\"}", `{"attributes":` + nest(40, true) + `}`,
	} {
		f.Add([]byte(s))
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := d.DecodeProfilePatch(body)
		if err != nil {
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("not a *wire.Error: %v", err)
			}
			if we.Code != CodeMalformedJSON && we.Code != CodeInvalidRequest {
				t.Fatalf("unexpected code %s", we.Code)
			}
			if we.Code == CodeInvalidRequest && len(we.Fields) == 0 {
				t.Fatal("422 without fields")
			}
			if out := we.body(); !json.Valid(out) || !utf8.Valid(out) {
				t.Fatalf("error body is not valid JSON: %q", out)
			}
			return
		}
		for k, v := range p.Fields {
			if len(v) > maxProfileFieldBytes || strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v) {
				t.Fatalf("field %s: %q", k, v)
			}
			known := false
			for _, f := range authn.ProfileFields {
				known = known || f == k
			}
			if !known {
				t.Fatalf("unknown field %q accepted", k)
			}
		}
		if len(p.Attributes) > authn.MaxAttributes {
			t.Fatalf("%d attributes", len(p.Attributes))
		}
		for k, v := range p.Attributes {
			if !json.Valid(v) || len(v) > maxAttributeBytes || v[0] == '{' || v[0] == '[' {
				t.Fatalf("attribute %s: %q", k, v)
			}
		}
	})
}

// FuzzDeviceName: any body decodes to a bounded name without NUL bytes,
// or fails with a 400/422 naming a field.
func FuzzDeviceName(f *testing.F) {
	for _, s := range []string{`{"name":"Work laptop"}`, `{"name":null}`, `{}`, `{"name":5}`, `{"x":1}`, `null`, `[]`, `{"name":"a\u0000"}`} {
		f.Add([]byte(s))
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, body []byte) {
		name, err := d.DecodeDeviceName(body)
		if err != nil {
			var we *Error
			if !errors.As(err, &we) || (we.Code != CodeMalformedJSON && we.Code != CodeInvalidRequest) {
				t.Fatalf("unexpected error %v", err)
			}
			if we.Code == CodeInvalidRequest && len(we.Fields) == 0 {
				t.Fatal("422 without fields")
			}
			return
		}
		if len(name) > maxDeviceNameBytes || strings.IndexByte(name, 0) >= 0 || !utf8.ValidString(name) {
			t.Fatalf("name %q", name)
		}
	})
}
