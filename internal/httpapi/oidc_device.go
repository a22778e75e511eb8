package httpapi

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/authn/token"
)

// The verification page of the device authorization grant (RFC 8628;
// authn/oidc device.go): a user signed in to riskauth enters the code
// their device shows, sees which client asks for what, and approves or
// denies. Entries are counted against the user and the address by the
// provider (brute force). The page has the login page's hardening (no
// script, the style by hash, forms only to this origin, the CSRF cookie
// and field, the Origin and Sec-Fetch-Site checks).

//go:embed oidc_device.html
var oidcDeviceHTML string

const oidcDeviceStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}` +
	`label{display:block}input{font:inherit;width:100%;box-sizing:border-box;margin:.25rem 0 1rem;padding:.4rem;letter-spacing:.15em}` +
	`button{font:inherit;padding:.5rem 1.25rem;margin-right:.5rem;cursor:pointer}#message{font-weight:600}`

var oidcDeviceTemplate = template.Must(template.New("oidc_device").Parse(oidcDeviceHTML))

var oidcDeviceStyleHash = func() string {
	sum := sha256.Sum256([]byte(oidcDeviceStyle))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

type oidcDeviceView struct {
	State                  string // enter, confirm, done, error
	Title, Message, Client string
	CSRF, Action, UserCode string
	Scopes                 []oidc.ScopeInfo
	Style                  template.CSS
}

func renderDevice(c *fiber.Ctx, status int, v oidcDeviceView) error {
	v.Style = template.CSS(oidcDeviceStyle)
	if v.Title == "" {
		v.Title = "Connect a device"
	}
	return renderOIDCPage(c, status, oidcDeviceTemplate, oidcDeviceStyleHash, v, "")
}

// oidcDeviceSession is the browser's live session, or the page saying to
// sign in first (done is then true).
func (s *Server) oidcDeviceSession(c *fiber.Ctx) (info *authn.SessionInfo, done bool, err error) {
	if s.oidc == nil || s.sessions == nil {
		return nil, true, oidcOff(c)
	}
	info, err = s.sessions.Authenticate(c.UserContext(), c.Cookies(SessionCookie))
	if err != nil {
		return nil, true, renderDevice(c, http.StatusUnauthorized, oidcDeviceView{State: "error",
			Message: "Sign in to your account in this browser first, then open this page again."})
	}
	return info, false, nil
}

// oidcCSRF is the page's CSRF token, set as the cookie when new.
func oidcCSRF(c *fiber.Ctx) (string, error) {
	csrf := c.Cookies(OIDCCSRFCookie)
	if token.Valid(csrf) {
		return csrf, nil
	}
	csrf, err := token.New()
	if err != nil {
		return "", err
	}
	c.Cookie(&fiber.Cookie{Name: OIDCCSRFCookie, Value: csrf, Path: "/", MaxAge: 3600,
		Secure: true, HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode})
	return csrf, nil
}

// oidcDevicePage is GET /oidc/device[?user_code=]: the entry form.
func (s *Server) oidcDevicePage(c *fiber.Ctx) error {
	if _, done, err := s.oidcDeviceSession(c); done {
		return err
	}
	csrf, err := oidcCSRF(c)
	if err != nil {
		return err
	}
	code := c.Query("user_code")
	if len(code) > 64 {
		code = ""
	}
	return renderDevice(c, http.StatusOK, oidcDeviceView{State: "enter", CSRF: csrf, Action: oidc.DefaultDevicePath, UserCode: code})
}

// oidcDeviceEnter is POST /oidc/device: the code entered; the
// confirmation follows.
func (s *Server) oidcDeviceEnter(c *fiber.Ctx) error {
	if err := s.oidcForm(c); err != nil {
		return err
	}
	info, done, err := s.oidcDeviceSession(c)
	if done {
		return err
	}
	csrf, code := formValue(c, "csrf"), formValue(c, "user_code")
	ctx := oidc.WithClient(c.UserContext(), s.oidcClient(c))
	p, err := s.oidc.DeviceRequest(ctx, info.UserID, code)
	switch {
	case errors.Is(err, oidc.ErrTooManyEntries):
		return renderDevice(c, http.StatusTooManyRequests, oidcDeviceView{State: "error",
			Message: "Too many codes were entered. Wait a few minutes, then try again."})
	case errors.Is(err, oidc.ErrUnknownUserCode):
		return renderDevice(c, http.StatusBadRequest, oidcDeviceView{State: "enter", CSRF: csrf, Action: oidc.DefaultDevicePath,
			UserCode: code, Message: "That code is wrong or has expired. Check the code on your device."})
	case err != nil:
		return err
	}
	return renderDevice(c, http.StatusOK, oidcDeviceView{State: "confirm", Title: "Connect " + p.ClientName + "?", Client: p.ClientName,
		CSRF: csrf, Action: oidc.DefaultDevicePath + "/approve", UserCode: code, Scopes: p.Scopes})
}

// oidcDeviceDecide is POST /oidc/device/approve: approve or deny.
func (s *Server) oidcDeviceDecide(c *fiber.Ctx) error {
	if err := s.oidcForm(c); err != nil {
		return err
	}
	info, done, err := s.oidcDeviceSession(c)
	if done {
		return err
	}
	var approve bool
	switch formValue(c, "decision") {
	case "allow":
		approve = true
	case "deny":
	default:
		return renderDevice(c, http.StatusBadRequest, oidcDeviceView{State: "error", Message: "Choose Approve or Deny."})
	}
	amr := []string{oidc.AMRPassword}
	if info.AAL >= authn.AAL2 {
		amr = append(amr, oidc.AMROTP, oidc.AMRMFA)
	}
	ctx := oidc.WithClient(c.UserContext(), s.oidcClient(c))
	err = s.oidc.DecideDevice(ctx, formValue(c, "code"), oidc.Login{UserID: info.UserID, SessionID: info.ID, AAL: int(info.AAL),
		AMR: amr, AuthTime: info.CreatedAt, Reused: true}, approve)
	switch {
	case errors.Is(err, oidc.ErrUnknownUserCode):
		return renderDevice(c, http.StatusBadRequest, oidcDeviceView{State: "error",
			Message: "That code is wrong or has expired. Start again on your device."})
	case errors.Is(err, oidc.ErrDenied):
		return renderDevice(c, http.StatusForbidden, oidcDeviceView{State: "error", Title: "Not connected",
			Message: "This device could not be connected to your account."})
	case errors.Is(err, oidc.ErrStepUp):
		return renderDevice(c, http.StatusForbidden, oidcDeviceView{State: "error", Title: "Sign in again",
			Message: "For your security, sign out, sign in again, then enter the code once more."})
	case err != nil:
		return err
	}
	if !approve {
		return renderDevice(c, http.StatusOK, oidcDeviceView{State: "done", Title: "Denied",
			Message: "The device was not connected. You can close this window."})
	}
	return renderDevice(c, http.StatusOK, oidcDeviceView{State: "done", Title: "Device connected",
		Message: "You can return to your device now."})
}
