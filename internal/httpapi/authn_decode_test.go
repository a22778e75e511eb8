package httpapi

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

// Every error code authn declares has a status of its own in the one
// table: the constants are read from authn's source, so a code added there
// cannot silently become a 500 here.
func TestAuthnCodesMapped(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "../../authn/apierror.go", nil, 0)
	require.NoError(t, err)
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for _, name := range vs.Names {
			if !strings.HasPrefix(name.Name, "Code") || name.Name == "CodeInternal" {
				continue
			}
			n++
			code := codeByName(name.Name)
			require.NotEmpty(t, code, "authn.%s unknown to this test", name.Name)
			st := Code(code).Status()
			assert.NotEqual(t, http.StatusInternalServerError, st, "authn.%s (%s) has no status", name.Name, code)
			assert.GreaterOrEqual(t, st, 400)
		}
		return true
	})
	assert.GreaterOrEqual(t, n, 20)
	// The generic refusal never varies, and delays are sent.
	e := fromAuthn(&authn.Error{Code: authn.CodeLoginFailed, Message: "user is disabled", RetryAfter: time.Minute})
	assert.Equal(t, loginFailedMessage, e.Message)
	assert.Zero(t, e.RetryAfter)
	e = fromAuthn(&authn.Error{Code: authn.CodeBusy, Message: "busy"})
	assert.Equal(t, time.Second, e.RetryAfter)
}

// codeByName maps authn's constant names to their values.
func codeByName(name string) authn.Code {
	return map[string]authn.Code{
		"CodeInvalidRequest": authn.CodeInvalidRequest, "CodeInvalidEmail": authn.CodeInvalidEmail,
		"CodeLoginFailed": authn.CodeLoginFailed, "CodeRequestRefused": authn.CodeRequestRefused,
		"CodeFlowExpired": authn.CodeFlowExpired, "CodeInvalidStep": authn.CodeInvalidStep,
		"CodeInvalidCode": authn.CodeInvalidCode, "CodeTooManyAttempts": authn.CodeTooManyAttempts,
		"CodeInvalidToken": authn.CodeInvalidToken, "CodeRateLimited": authn.CodeRateLimited,
		"CodeInvalidPassword": authn.CodeInvalidPassword, "CodeReauthenticationRequired": authn.CodeReauthenticationRequired,
		"CodeSessionInvalid": authn.CodeSessionInvalid, "CodeNotFound": authn.CodeNotFound,
		"CodeBusy": authn.CodeBusy, "CodeUnavailable": authn.CodeUnavailable,
		"CodePasswordTooShort": authn.CodePasswordTooShort, "CodePasswordTooLong": authn.CodePasswordTooLong,
		"CodePasswordBreached": authn.CodePasswordBreached, "CodePasswordContext": authn.CodePasswordContext,
		"CodePasswordInvalidChars": authn.CodePasswordInvalidChars,
	}[name]
}

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
	} {
		for i := range allSpecs {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		spec := allSpecs[int(which)%len(allSpecs)]
		b, aerr := decodeAuth(&testParsers, spec, body)
		if aerr != nil {
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
