package wire

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeConsents(t *testing.T) {
	t.Parallel()
	var d Decoder
	for _, tt := range []struct {
		name             string
		body             string
		strict, required bool
		want             int
		bad              []string
	}{
		{"two", `{"consents":[{"purpose":"terms","version":3},{"purpose":"analytics","version":1}]}`, true, true, 2, nil},
		{"other members ignored", `{"email":"a@b.example","consents":[{"purpose":"terms","version":3}]}`, false, false, 1, nil},
		{"other members refused", `{"email":"a@b.example","consents":[]}`, true, true, 0, []string{"email"}},
		{"absent optional", `{"email":"a@b.example"}`, false, false, 0, nil},
		{"absent required", `{}`, true, true, 0, []string{"consents"}},
		{"null required", `{"consents":null}`, true, true, 0, []string{"consents"}},
		{"not a list", `{"consents":{"terms":3}}`, true, true, 0, []string{"consents"}},
		{"bad items", `{"consents":[1,{"purpose":5,"version":"3"},{"purpose":"x","version":0,"extra":1},null]}`, true, true, 0,
			[]string{"consents[0]", "consents[1].purpose", "consents[1].version", "consents[2].version", "consents[2].extra", "consents[3]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := d.DecodeConsents([]byte(tt.body), tt.strict, tt.required)
			if tt.bad == nil {
				require.NoError(t, err)
				assert.Len(t, got, tt.want)
				return
			}
			var we *Error
			require.ErrorAs(t, err, &we)
			assert.Equal(t, CodeInvalidRequest, we.Code)
			var names []string
			for _, f := range we.Fields {
				names = append(names, f.Field)
			}
			assert.ElementsMatch(t, tt.bad, names)
		})
	}
}

func TestDecodePreferencesPatch(t *testing.T) {
	t.Parallel()
	var d Decoder
	p, err := d.DecodePreferencesPatch([]byte(`{"channels":["email","sms"],"topics":null,"language":"de-CH"}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"email", "sms"}, *p.Channels)
	assert.Equal(t, []string{}, *p.Topics, "null clears")
	assert.Equal(t, "de-CH", *p.Language)
	p, err = d.DecodePreferencesPatch([]byte(`{}`))
	require.NoError(t, err)
	assert.Nil(t, p.Channels, "absent: unchanged")
	assert.Nil(t, p.Language)

	_, err = d.DecodePreferencesPatch([]byte(`{"channels":"email","topics":[1],"language":5,"x":1}`))
	var we *Error
	require.ErrorAs(t, err, &we)
	var names []string
	for _, f := range we.Fields {
		names = append(names, f.Field)
	}
	assert.ElementsMatch(t, []string{"channels", "topics[0]", "language", "x"}, names)
}

// FuzzConsents: any body decodes to at most maxConsentChoices bounded
// choices, each with a purpose and a positive version, or fails with a
// 400/422 naming a field.
func FuzzConsents(f *testing.F) {
	for _, s := range []string{`{"consents":[{"purpose":"terms","version":3}]}`, `{}`, `null`, `[]`, `{"consents":[null]}`,
		`{"consents":[{"purpose":"a\u0000","version":1e400}]}`, `{"consents":` + nest(40, false) + `}`} {
		f.Add([]byte(s), true)
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, body []byte, strict bool) {
		cs, err := d.DecodeConsents(body, strict, strict)
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
		if len(cs) > maxConsentChoices {
			t.Fatalf("%d consents", len(cs))
		}
		for _, c := range cs {
			if c.Purpose == "" || len(c.Purpose) > maxNameBytes || strings.IndexByte(c.Purpose, 0) >= 0 ||
				!utf8.ValidString(c.Purpose) || c.Version <= 0 {
				t.Fatalf("choice %+v", c)
			}
		}
	})
}

// FuzzPreferencesPatch: any body decodes to bounded lists of bounded
// strings, or fails with a 400/422 naming a field.
func FuzzPreferencesPatch(f *testing.F) {
	for _, s := range []string{`{"channels":["email"],"topics":[],"language":"fr"}`, `{}`, `null`, `{"language":null}`,
		`{"channels":[1]}`, `{"x":1}`} {
		f.Add([]byte(s))
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := d.DecodePreferencesPatch(body)
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
		for _, l := range []*[]string{p.Channels, p.Topics} {
			if l == nil {
				continue
			}
			if len(*l) > maxPreferenceItems {
				t.Fatalf("%d values", len(*l))
			}
			for _, s := range *l {
				if len(s) > maxNameBytes || strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
					t.Fatalf("value %q", s)
				}
			}
		}
		if p.Language != nil && (len(*p.Language) > maxLanguageBytes || strings.IndexByte(*p.Language, 0) >= 0) {
			t.Fatalf("language %q", *p.Language)
		}
	})
}

// FuzzNewEmail: any body decodes to a non-empty bounded string without
// NUL bytes, or fails with a 400/422 naming a field.
func FuzzNewEmail(f *testing.F) {
	for _, s := range []string{`{"new_email":"a@b.example"}`, `{}`, `null`, `{"new_email":null}`, `{"new_email":1}`, `{"x":1}`} {
		f.Add([]byte(s))
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := d.DecodeNewEmail(body)
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
		if e == "" || len(e) > maxEmailBytes || strings.IndexByte(e, 0) >= 0 || !utf8.ValidString(e) {
			t.Fatalf("email %q", e)
		}
	})
}
