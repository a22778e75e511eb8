package httpapi

import (
	"bytes"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// Session transport. A browser gets the session as a cookie it cannot read
// from script; an app (or a backend calling for one) gets it as a bearer
// token in the JSON answer. The client chooses with the request header
// HeaderSessionTransport: "bearer" asks for the token in the body, anything
// else (or no header) gets the cookie, so a browser that knows nothing
// about the header never sees a token in JavaScript.
const (
	// SessionCookie is the cookie name. The __Host- prefix makes browsers
	// refuse it unless it is Secure, has Path=/ and no Domain, so a
	// sibling subdomain cannot plant or overwrite it.
	SessionCookie = "__Host-riskauth_session"
	// HeaderSessionTransport selects the transport of a newly issued
	// session: "bearer" or "cookie" (the default).
	HeaderSessionTransport = "Riskauth-Session"
	// HeaderAPIKey carries an API key on the sign-in API. It is a header of
	// its own because Authorization there carries the user's session.
	HeaderAPIKey = "Riskauth-Api-Key"
)

// localAPIKey marks a request whose caller presented a valid API key.
const localAPIKey = "riskauth.apikey"

// optionalAPIKey lets backends call the sign-in API for their users. No
// header: a user-facing request. A valid key: the body's client.ip and
// client.user_agent are believed. A wrong key is refused rather than
// ignored, because a backend whose key was rotated away would otherwise
// have every user appear to come from its own address.
func (s *Server) optionalAPIKey(c *fiber.Ctx) error {
	k := c.Request().Header.Peek(HeaderAPIKey)
	if len(k) == 0 {
		return c.Next()
	}
	if !s.validKey(bytes.TrimSpace(k)) {
		return apiErr(CodeUnauthorized, "the "+HeaderAPIKey+" header does not hold a valid API key")
	}
	c.Locals(localAPIKey, true)
	return c.Next()
}

func hasAPIKey(c *fiber.Ctx) bool {
	v, _ := c.Locals(localAPIKey).(bool)
	return v
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(c *fiber.Ctx) string { return string(bearer(c)) }

// sessionToken is the request's session: the bearer token when an
// Authorization header is sent, else the cookie.
func sessionToken(c *fiber.Ctx) string {
	if t := bearerToken(c); t != "" {
		return t
	}
	return c.Cookies(SessionCookie)
}

// guard protects every state-changing route of the sign-in API against
// cross-site request forgery (ASVS 5.0 V3.5):
//
//   - a POST must declare Content-Type: application/json. A cross-site HTML
//     form can only send urlencoded, multipart or text/plain bodies, and a
//     cross-site fetch with a JSON content type needs a CORS preflight, which
//     this server never grants;
//   - a request that may carry the cookie (no Authorization header, no API
//     key) is refused when the browser says it comes from another site
//     (Sec-Fetch-Site other than same-origin or none) or from an origin
//     other than the configured public ones (Origin header).
//
// Requests with an Authorization header or an API key carry their
// credential explicitly, which a browser never adds on its own to a
// cross-site request, so only the content type is checked for them.
func (s *Server) guard(c *fiber.Ctx) error {
	if err := checkEncoding(c); err != nil {
		return err
	}
	if c.Method() == fiber.MethodPost && !jsonContentType(c.Request().Header.ContentType()) {
		return apiErr(CodeUnsupportedMediaType, "send the body as Content-Type: application/json")
	}
	if bearerToken(c) != "" || hasAPIKey(c) {
		return c.Next()
	}
	switch string(c.Request().Header.Peek("Sec-Fetch-Site")) {
	case "", "same-origin", "none":
	default:
		return errForbiddenOrigin
	}
	if o := c.Request().Header.Peek(fiber.HeaderOrigin); len(o) > 0 && !s.origins[string(o)] {
		return errForbiddenOrigin
	}
	return c.Next()
}

var errForbiddenOrigin = apiErr(CodeForbiddenOrigin, "cross-site requests are not accepted")

// jsonContentType accepts application/json with at most a UTF-8 charset.
func jsonContentType(ct []byte) bool {
	if len(ct) == 0 {
		return false
	}
	mt, params, err := mime.ParseMediaType(string(ct))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// client builds who is asking. The address is the connection's (through
// the trusted proxies) and the user agent the request's, unless a backend
// with an API key tells who its user is; browsers may always send the
// device descriptor their collector gathered.
func (s *Server) client(c *fiber.Ctx, b *wire.Client) (authn.Client, error) {
	ua := string(c.Request().Header.UserAgent())
	if len(ua) > engine.MaxUserAgentLen {
		ua = ua[:engine.MaxUserAgentLen]
	}
	cl := authn.Client{IP: s.clientIP(c), UserAgent: ua, Device: b.Device, Attributes: b.Attributes}
	hasIP, hasUA := b.IP.IsValid(), b.UserAgent != ""
	if hasIP || hasUA {
		if !hasAPIKey(c) {
			var fs []engine.FieldError
			if hasIP {
				fs = append(fs, engine.FieldError{Field: "client.ip", Message: "accepted only from a backend that sends its API key in " + HeaderAPIKey})
			}
			if hasUA {
				fs = append(fs, engine.FieldError{Field: "client.user_agent", Message: "accepted only from a backend that sends its API key in " + HeaderAPIKey})
			}
			return authn.Client{}, invalid(fs)
		}
		if hasIP {
			cl.IP = b.IP
		}
		if hasUA {
			cl.UserAgent = b.UserAgent
		}
	}
	return cl, nil
}

// wantsBearer reports whether a new session goes into the body.
func wantsBearer(c *fiber.Ctx) bool {
	return strings.EqualFold(strings.TrimSpace(string(c.Request().Header.Peek(HeaderSessionTransport))), "bearer")
}

// setSessionCookie hands a browser its session. The cookie lives until the
// session's absolute deadline; the idle deadline is enforced by the
// server. SameSite=Lax keeps it off cross-site subrequests and POSTs while
// a link from a mail still opens a signed-in page.
func setSessionCookie(c *fiber.Ctx, is *authn.IssuedSession) {
	c.Cookie(&fiber.Cookie{
		Name: SessionCookie, Value: is.Token, Path: "/", Expires: is.AbsoluteExpiresAt,
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// clearSessionCookie removes the cookie (after sign-out or a rejected
// session), with the same attributes so the browser matches it.
func clearSessionCookie(c *fiber.Ctx) {
	c.Cookie(&fiber.Cookie{
		Name: SessionCookie, Value: "", Path: "/", Expires: fasthttp.CookieExpireDelete,
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
	})
}
