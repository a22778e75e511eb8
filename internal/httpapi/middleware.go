package httpapi

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/riskauth/riskauth/internal/leaf/backend"
)

const headerRequestID = "X-Request-ID"

// setCommonHeaders sets what every response carries.
func setCommonHeaders(h *fasthttp.ResponseHeader, req *fasthttp.RequestHeader) {
	// SetCanonical with names already in canonical form: Set would copy
	// and normalise each name on every response.
	h.SetCanonical(keyCacheControl, valNoStore)
	h.SetCanonical(keyContentTypeOptions, valNosniff)
	if id := req.Peek(headerRequestID); validRequestID(id) {
		h.SetCanonical(keyRequestID, id)
	}
}

var (
	keyCacheControl       = []byte(fiber.HeaderCacheControl)
	keyContentTypeOptions = []byte(fiber.HeaderXContentTypeOptions)
	keyRequestID          = []byte("X-Request-Id") // headerRequestID as fasthttp normalises it
	valNoStore            = []byte("no-store")
	valNosniff            = []byte("nosniff")
)

// validRequestID accepts 1-128 visible ASCII characters: anything else is
// not echoed (no header injection, no unbounded reflection).
func validRequestID(id []byte) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for _, b := range id {
		if b <= ' ' || b >= 0x7f {
			return false
		}
	}
	return true
}

// writeJSON renders v with the given status.
func writeJSON(c *fiber.Ctx, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Status(status).Send(b)
}

// observe is the outermost middleware: it sets the common headers, renders
// errors returned by the rest of the chain, and records the HTTP metrics.
func (s *Server) observe(c *fiber.Ctx) error {
	// fasthttp stamps each request when it has read it, just before the
	// handler: the same start, without a clock read of our own.
	start := c.Context().Time()
	setCommonHeaders(&c.Response().Header, &c.Request().Header)
	if err := c.Next(); err != nil {
		s.renderError(c, err)
	}
	label := s.m.label(c.Route().Path)
	s.m.observe(label, c.Response().StatusCode(), time.Since(start))
	return nil
}

// renderError writes the stable error body for err, logging unexpected ones.
func (s *Server) renderError(c *fiber.Ctx, err error) {
	ae, unexpected := toAPIError(err)
	if unexpected {
		s.log.ErrorContext(c.UserContext(), "request failed", "method", c.Method(), "route", c.Route().Path, "err", err)
	} else if be, ok := backend.As(err); ok {
		// Not a bug: a warning, one per backend and kind and route, which
		// the daemon's log handler folds during an outage (logfold).
		s.log.WarnContext(c.UserContext(), "backend unavailable", "backend", be.Backend, "kind", be.Kind,
			"method", c.Method(), "route", c.Route().Path, "err", err)
	}
	resp := c.Response()
	resp.ResetBody()
	setCommonHeaders(&resp.Header, &c.Request().Header)
	resp.Header.SetContentType(fiber.MIMEApplicationJSON)
	switch ae.Code {
	case CodeUnauthorized:
		resp.Header.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="riskauth"`)
	case CodeMethodNotAllowed:
		if allow := s.allowed(c.Path()); allow != "" {
			resp.Header.Set(fiber.HeaderAllow, allow)
		}
	}
	if ae.RetryAfter > 0 {
		resp.Header.Set(fiber.HeaderRetryAfter, strconv.FormatInt(int64((ae.RetryAfter+time.Second-1)/time.Second), 10))
	}
	resp.SetStatusCode(ae.Code.Status())
	resp.SetBodyRaw(ae.body())
}

// serverError is fiber's ErrorHandler. Errors raised inside the middleware
// chain are rendered by observe; this one sees the rest: requests fasthttp
// refused before routing (body over the limit, unparsable HTTP, headers too
// large, read timeout).
func (s *Server) serverError(c *fiber.Ctx, err error) error {
	if !s.oidcOversized(c, err) {
		s.renderError(c, err)
	}
	s.m.observe(s.m.label(c.Path()), c.Response().StatusCode(), 0)
	if fe := (*fiber.Error)(nil); c.Response().StatusCode() == http.StatusRequestEntityTooLarge ||
		errors.As(err, &fe) && fe.Code == http.StatusRequestEntityTooLarge {
		lingerClose(c.Context())
	}
	return nil
}

// Bounds of the drain after a 413.
const (
	lingerTimeout = 2 * time.Second
	lingerBytes   = 8 << 20
)

// lingerClose sends the response prepared in ctx right away, half-closes
// the connection and drains what the client is still sending, within
// bounds. fasthttp refuses an oversized body as soon as it sees it and
// closes the connection with the rest unread, which makes the kernel reset
// it: a client that writes its whole body before reading (most do) would
// then see "connection reset" instead of the 413. fasthttp's own copy of
// the response, written afterwards, goes nowhere.
func lingerClose(ctx *fasthttp.RequestCtx) {
	tc, ok := ctx.Conn().(*net.TCPConn)
	if !ok {
		return
	}
	ctx.Response.SetConnectionClose()
	if err := tc.SetWriteDeadline(time.Now().Add(lingerTimeout)); err != nil {
		return
	}
	w := bufio.NewWriter(tc)
	if ctx.Response.Write(w) != nil || w.Flush() != nil || tc.CloseWrite() != nil {
		return
	}
	if tc.SetReadDeadline(time.Now().Add(lingerTimeout)) == nil {
		_, _ = io.CopyN(io.Discard, tc, lingerBytes)
	}
}

// allowed returns the Allow header for a request path ("" when unknown),
// matching like the router: case-insensitive, trailing slash ignored.
func (s *Server) allowed(path string) string {
	p := []byte(path)
	if len(p) > 1 {
		p = bytes.TrimRight(p, "/")
	}
	return s.allow[string(bytes.ToLower(p))]
}

// knownMethod reports whether fiber's router handles the method.
func knownMethod(m []byte) bool {
	switch string(m) {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete,
		http.MethodConnect, http.MethodOptions, http.MethodTrace, http.MethodPatch:
		return true
	}
	return false
}

// rejectMethod answers a method fiber does not know, in the stable shape.
func (s *Server) rejectMethod(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	ae := apiErr(CodeMethodNotAllowed, "method not allowed on this route")
	setCommonHeaders(&ctx.Response.Header, &ctx.Request.Header)
	ctx.Response.Header.SetContentType(fiber.MIMEApplicationJSON)
	if allow := s.allowed(string(ctx.Path())); allow != "" {
		ctx.Response.Header.Set(fiber.HeaderAllow, allow)
	}
	ctx.Response.SetStatusCode(ae.Code.Status())
	ctx.Response.SetBodyRaw(ae.body())
	s.m.observe(s.m.label(""), ae.Code.Status(), time.Since(start))
}

// recoverPanic turns a panic into a 500 "internal" answer: the panic and
// its stack go to the log, never to the client.
func (s *Server) recoverPanic(c *fiber.Ctx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.ErrorContext(c.UserContext(), "panic serving request", "method", c.Method(), "route", c.Route().Path,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = errInternal
		}
	}()
	return c.Next()
}

// authenticate checks the bearer API key. The presented key is hashed and
// compared with every configured key's digest in constant time, so neither
// the length nor the position of a match leaks through timing; every
// failure gets the same answer.
func (s *Server) authenticate(c *fiber.Ctx) error {
	if !s.validKey(bearer(c)) {
		return errUnauthorized
	}
	return c.Next()
}

// bearer returns the credential of an "Authorization: Bearer" header, nil
// without one.
func bearer(c *fiber.Ctx) []byte {
	h := c.Request().Header.Peek(fiber.HeaderAuthorization)
	const scheme = "bearer "
	if len(h) <= len(scheme) || !bytes.EqualFold(h[:len(scheme)], []byte(scheme)) {
		return nil
	}
	return bytes.TrimSpace(h[len(scheme):])
}

// validKey reports whether key is one of the configured API keys, in time
// independent of which one matched and of their lengths.
func (s *Server) validKey(key []byte) bool {
	sum := sha256.Sum256(key)
	ok := 0
	for i := range s.keys {
		ok |= subtle.ConstantTimeCompare(sum[:], s.keys[i][:])
	}
	return ok == 1
}

// checkEncoding refuses compressed bodies: the body limit applies to the
// bytes on the wire, so decompressing would let a small body grow without
// bound.
func checkEncoding(c *fiber.Ctx) error {
	enc := c.Request().Header.Peek(fiber.HeaderContentEncoding)
	if len(enc) == 0 || string(enc) == "identity" {
		return nil
	}
	return apiErr(CodeUnsupportedMediaType, "compressed request bodies are not accepted")
}

// HeaderAPIKey carries an API key on the sign-in and account API. It is a
// header of its own because Authorization there carries the user's
// session.
const HeaderAPIKey = "Riskauth-Api-Key"

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
