package httpapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
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
		"CodeAlreadyVerified":  authn.CodeAlreadyVerified,
		"CodePasswordTooShort": authn.CodePasswordTooShort, "CodePasswordTooLong": authn.CodePasswordTooLong,
		"CodePasswordBreached": authn.CodePasswordBreached, "CodePasswordContext": authn.CodePasswordContext,
		"CodePasswordInvalidChars": authn.CodePasswordInvalidChars, "CodePasswordRepetitive": authn.CodePasswordRepetitive,
		"CodeEmailUnverified": authn.CodeEmailUnverified,
	}[name]
}

func TestCodeTable(t *testing.T) {
	t.Parallel()
	for code, status := range codeStatus {
		assert.Equal(t, status, code.Status(), code)
		assert.GreaterOrEqual(t, status, 400)
	}
	assert.Equal(t, http.StatusInternalServerError, Code("nope").Status())
}

// The decoders' errors keep their codes and statuses: 400 for a malformed
// body, 422 for invalid fields.
func TestWireErrorsMapped(t *testing.T) {
	t.Parallel()
	e, unexpected := toAPIError(wire.Invalid(nil))
	assert.False(t, unexpected)
	assert.Equal(t, CodeInvalidRequest, e.Code)
	assert.Equal(t, http.StatusUnprocessableEntity, e.Code.Status())
	assert.Equal(t, http.StatusBadRequest, Code(wire.CodeMalformedJSON).Status())
}
