package httpapi

import (
	"errors"
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
// provider (brute force). It is a hosted page (templates/
// oidc_device.html): branded, translated, no script, forms only to this
// origin, the CSRF cookie and field, the Origin and Sec-Fetch-Site
// checks.

// oidcDeviceView is what templates/oidc_device.html shows.
type oidcDeviceView struct {
	State string // enter, confirm, done, error
	// TitleID and Message are catalogue ids.
	TitleID, Message       string
	Client                 string
	CSRF, Action, UserCode string
	Scopes                 []oidcScope
}

func (s *Server) renderDevice(c *fiber.Ctx, status int, v oidcDeviceView) error {
	if v.TitleID == "" {
		v.TitleID = "oidc_device_title"
	}
	return s.render(c, status, page{Name: "oidc_device", TitleID: v.TitleID, State: v.State, CSRF: v.CSRF, V: v})
}

// oidcDeviceSession is the browser's live session, or the page saying to
// sign in first (done is then true).
func (s *Server) oidcDeviceSession(c *fiber.Ctx) (info *authn.SessionInfo, done bool, err error) {
	if s.oidc == nil || s.sessions == nil {
		return nil, true, oidcOff(c)
	}
	info, err = s.sessions.Authenticate(c.UserContext(), c.Cookies(SessionCookie))
	if err != nil {
		return nil, true, s.renderDevice(c, http.StatusUnauthorized, oidcDeviceView{State: "error",
			Message: "oidc_device_sign_in_first"})
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
	return s.renderDevice(c, http.StatusOK, oidcDeviceView{State: "enter", CSRF: csrf, Action: oidc.DefaultDevicePath, UserCode: code})
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
		return s.renderDevice(c, http.StatusTooManyRequests, oidcDeviceView{State: "error",
			Message: "oidc_device_too_many"})
	case errors.Is(err, oidc.ErrUnknownUserCode):
		return s.renderDevice(c, http.StatusBadRequest, oidcDeviceView{State: "enter", CSRF: csrf, Action: oidc.DefaultDevicePath,
			UserCode: code, Message: "oidc_device_code_wrong"})
	case err != nil:
		return err
	}
	return s.renderDevice(c, http.StatusOK, oidcDeviceView{State: "confirm", Client: p.ClientName,
		CSRF: csrf, Action: oidc.DefaultDevicePath + "/approve", UserCode: code, Scopes: oidcScopes(p.Scopes)})
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
		return s.renderDevice(c, http.StatusBadRequest, oidcDeviceView{State: "error", Message: "oidc_choose_approve"})
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
		return s.renderDevice(c, http.StatusBadRequest, oidcDeviceView{State: "error",
			Message: "oidc_device_code_gone"})
	case errors.Is(err, oidc.ErrDenied):
		return s.renderDevice(c, http.StatusForbidden, oidcDeviceView{State: "error", TitleID: "oidc_device_not_connected_title",
			Message: "oidc_device_not_connected"})
	case errors.Is(err, oidc.ErrStepUp):
		return s.renderDevice(c, http.StatusForbidden, oidcDeviceView{State: "error", TitleID: "oidc_device_step_up_title",
			Message: "oidc_device_step_up"})
	case err != nil:
		return err
	}
	if !approve {
		return s.renderDevice(c, http.StatusOK, oidcDeviceView{State: "done", TitleID: "oidc_device_denied_title",
			Message: "oidc_device_denied"})
	}
	return s.renderDevice(c, http.StatusOK, oidcDeviceView{State: "done", TitleID: "oidc_device_connected_title",
		Message: "oidc_device_connected"})
}
