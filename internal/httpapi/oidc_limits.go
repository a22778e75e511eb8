package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn/oidc"
)

// Oversized requests to the provider (issue 22): fasthttp refuses a body
// over the limit (413) or headers and a URL over the read buffer (431)
// before any handler runs, and the API's error shape means nothing to an
// OAuth client or a browser. On the provider's endpoints the refusal is
// said in their own terms instead: the OAuth error shape (RFC 6749 §5.2,
// invalid_request with a description) on the endpoints clients call, the
// error page on those a browser opens. Nothing was read, so nothing was
// stored.

// oauthJSONPaths are the endpoints that answer in the OAuth error shape.
var oauthJSONPaths = []string{oidc.PathToken, oidc.PathDeviceAuthorization, oidc.PathIntrospect, oidc.PathRevoke}

// oauthBrowserPaths are the endpoints a browser opens.
var oauthBrowserPaths = []string{oidc.PathAuthorize, oidc.PathCallback, oidc.PathEndSession, oidc.DefaultLoginPath,
	oidc.DefaultConsentPath, oidc.DefaultDevicePath}

// oidcOversized answers an oversized request to the provider and reports
// whether it did.
func (s *Server) oidcOversized(c *fiber.Ctx, err error) bool {
	var fe *fiber.Error
	if s.oidc == nil || !errors.As(err, &fe) || (fe.Code != http.StatusRequestEntityTooLarge && fe.Code != http.StatusRequestHeaderFieldsTooLarge) {
		return false
	}
	what := fmt.Sprintf("the request body is over %d bytes", s.app.Config().BodyLimit)
	if fe.Code == http.StatusRequestHeaderFieldsTooLarge {
		what = fmt.Sprintf("the request's URL and headers are over %d bytes", s.app.Config().ReadBufferSize)
	}
	path := c.Path()
	switch {
	case slices.Contains(oauthJSONPaths, path):
		body, _ := json.Marshal(map[string]string{"error": "invalid_request", "error_description": what})
		resp := c.Response()
		resp.ResetBody()
		setCommonHeaders(&resp.Header, &c.Request().Header)
		resp.Header.SetContentType(fiber.MIMEApplicationJSON)
		resp.Header.Set(fiber.HeaderCacheControl, "no-store")
		resp.SetStatusCode(http.StatusBadRequest)
		resp.SetBodyRaw(body)
	case slices.Contains(oauthBrowserPaths, path):
		if s.oidcLoginError(c, http.StatusBadRequest, "This sign-in request is too large ("+what+"). Go back to the application and start again.") != nil {
			return false
		}
	default:
		return false
	}
	return true
}
