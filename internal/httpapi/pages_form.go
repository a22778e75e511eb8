package httpapi

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/token"
)

// What the hosted pages' forms share: the CSRF token, the client context
// (with the device collector's descriptor) and the redirect after
// sign-in.

// PageCSRFCookie carries the hosted pages' CSRF token, which every form
// repeats in its "csrf" field (double submit, compared in constant time).
// SameSite=Lax so that arriving from another site (an app sending its
// user to /login) keeps the token a form in another tab holds; a
// cross-site POST never carries it.
const PageCSRFCookie = "__Host-riskauth_csrf"

// pageCSRFLifetime bounds the token; a form older than that asks again.
const pageCSRFLifetime = 12 * time.Hour

// pageCSRF returns the browser's CSRF token, issuing one when it has
// none.
func pageCSRF(c *fiber.Ctx) (string, error) {
	tok := c.Cookies(PageCSRFCookie)
	if token.Valid(tok) {
		return tok, nil
	}
	tok, err := token.New()
	if err != nil {
		return "", err
	}
	c.Cookie(&fiber.Cookie{Name: PageCSRFCookie, Value: tok, Path: "/", Expires: time.Now().Add(pageCSRFLifetime),
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode})
	return tok, nil
}

// checkPageForm refuses a form post that is not a same-origin browser
// form with the CSRF token of its cookie: the JSON API's Origin and
// Sec-Fetch-Site rules plus the double submit (a form cannot be kept
// from sending form content types, so the JSON API's content-type rule
// has no equivalent here).
func (s *Server) checkPageForm(c *fiber.Ctx) bool {
	switch string(c.Request().Header.Peek("Sec-Fetch-Site")) {
	case "", "same-origin", "none":
	default:
		return false
	}
	if o := c.Request().Header.Peek(fiber.HeaderOrigin); len(o) > 0 && !s.origins[string(o)] {
		return false
	}
	cookie, form := c.Cookies(PageCSRFCookie), formValue(c, "csrf")
	return token.Valid(cookie) && token.Equal(cookie, form)
}

// pageFormClient is the browser as the sign-in service sees it, with the
// descriptor the device collector (assets/device.js) put into the form's
// "device" field. A descriptor that does not decode is dropped: the
// collector never blocks a sign-in.
func (s *Server) pageFormClient(c *fiber.Ctx) authn.Client {
	cl := s.pageClient(c)
	if raw := formValue(c, "device"); raw != "" {
		if d, err := s.dec.DecodeDevice([]byte(raw)); err == nil {
			cl.Device = d
		}
	}
	return cl
}

// defaultReturn is where a sign-in without return_to lands.
const defaultReturn = "/account"

// maxReturnTo bounds return_to.
const maxReturnTo = 2048

// safeReturn is return_to when it is safe to redirect to, else
// defaultReturn: a path on this origin (not "//host" nor "/\host", which
// browsers read as another host), or an absolute http(s) URL on the
// public origin or an allowed origin. No open redirect.
func (s *Server) safeReturn(raw string) string {
	if raw == "" || len(raw) > maxReturnTo || strings.ContainsAny(raw, "\\\x00\t\r\n") {
		return defaultReturn
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			return defaultReturn
		}
	}
	if strings.HasPrefix(raw, "/") {
		if strings.HasPrefix(raw, "//") {
			return defaultReturn
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
			return defaultReturn
		}
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Host == "" || u.Opaque != "" {
		return defaultReturn
	}
	if !s.origins[u.Scheme+"://"+u.Host] {
		return defaultReturn
	}
	return raw
}

// formValue is c.FormValue copied out of the request buffer. Fiber's
// strings point into fasthttp's buffer, which the next request on the
// connection overwrites: a value that outlives the handler (an address
// handed to the mail queue, a name kept in a flow) would change under
// its reader. The race detector found exactly that on the forgotten-
// password page's address.
func formValue(c *fiber.Ctx, key string) string {
	return strings.Clone(c.FormValue(key))
}
