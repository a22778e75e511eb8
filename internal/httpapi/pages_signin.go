package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// The hosted sign-in page, /login: identifier first, then the password
// (or an emailed code), then the second factor the risk engine, the
// account or the application asks for (TOTP, recovery code, emailed
// code). Every step is a plain form posting to POST /login with a "step"
// field, so the page works without JavaScript; device.js adds the device
// descriptor to the forms, and the passkeys helper's script adds passkey
// autofill on the identifier field (autocomplete "username webauthn").
// The session ends up in the session cookie, and the browser goes to
// return_to when it is safe (safeReturn), else to /account.
//
// Every refusal of a factor is the one generic answer (authn's); a flood
// from one address meets the per-IP rate limit of the JSON API's
// unauthenticated routes.

// signinView is the sign-in template's view.
type signinView struct {
	// Step is "identifier", "password" or "code".
	Step string
	// Action is where the forms post: /login, or the OIDC login path.
	Action                     string
	ReturnTo, Identifier, Flow string
	Method                     string   // of the code step
	Alternatives               []string // other second factors offered
	Offered                    string   // every second factor offered, comma-separated
	EmailCode                  bool     // the password step may switch to an emailed code
	Message                    string   // catalogue id of a refusal
	Restart                    string   // the link that starts over
	OIDC, Client               string   // the OIDC request id and client name, on the OIDC login
	formTo                     string   // the OIDC client's redirect origin, for form-action
	ReturnQuery                string
	Upstream                   []upstreamLink // "Sign in with X" (upstream.go)
	Passkey                    bool           // passkeys are on: passkey.js and its slot (pages_passkey.go)
	// The consent step's purposes and their names (pages_consent.go).
	Consents []consentItem
	Pending  string
	csrf     string // the OIDC login's token, when the step is of that page
}

// signinPage answers GET /login.
func (s *Server) signinPage(c *fiber.Ctx) error {
	ret := s.safeReturn(c.Query("return_to"))
	if tok := c.Cookies(SessionCookie); tok != "" && c.Query("prompt") != "login" {
		if _, err := s.sessions.Authenticate(c.UserContext(), tok); err == nil {
			return c.Redirect(ret, http.StatusSeeOther)
		}
	}
	v := s.newSigninView(ret)
	v.Identifier = c.Query("login_hint")
	return s.signinRender(c, http.StatusOK, v)
}

// newSigninView is the identifier step of the page at /login.
func (s *Server) newSigninView(ret string) signinView {
	v := signinView{Step: "identifier", Action: "/login", Restart: "/login"}
	if ret != defaultReturn {
		v.ReturnTo = ret
		q := url.Values{"return_to": {ret}}.Encode()
		v.Restart, v.ReturnQuery = "/login?"+q, q
	}
	return v
}

// signinRender writes the page with a CSRF token.
func (s *Server) signinRender(c *fiber.Ctx, status int, v signinView) error {
	csrf, err := pageCSRF(c)
	if err != nil {
		return err
	}
	scripts := []string{"device.js"}
	v.Upstream = s.upstreamLinks(v.ReturnTo)
	if v.Passkey = s.passkeysOn(); v.Passkey {
		scripts = append(scripts, "passkey.js")
	} else {
		v.Alternatives = slices.DeleteFunc(v.Alternatives, func(m string) bool { return m == string(authn.MethodPasskey) })
	}
	return s.renderTo(c, status, page{Name: "signin", TitleID: "signin_title", State: v.Step, CSRF: csrf, Scripts: scripts, V: v}, v.formTo)
}

// pageError renders the error page: nothing in it tells an attacker why.
func (s *Server) pageError(c *fiber.Ctx, status int, msg, back string) error {
	title := "error_title"
	if msg == "error_blocked" {
		title = "blocked_title"
	}
	return s.render(c, status, page{Name: "error", TitleID: title, State: "error", V: struct{ Message, Back string }{msg, back}})
}

// signinPost answers POST /login: one step of the flow.
func (s *Server) signinPost(c *fiber.Ctx) error {
	v := s.newSigninView(s.safeReturn(formValue(c, "return_to")))
	return s.signinStep(c, v, func(res *authn.LoginResult) error {
		setSessionCookie(c, res.Session)
		ret := s.safeReturn(formValue(c, "return_to"))
		if shown, err := s.offerPasskey(c, v, res, ret); shown {
			return err
		}
		return c.Redirect(ret, http.StatusSeeOther)
	})
}

// signinStep runs the step the form names and renders what follows;
// done is called with an authenticated result (the OIDC login completes
// the authorization there).
func (s *Server) signinStep(c *fiber.Ctx, v signinView, done func(*authn.LoginResult) error) error {
	if !s.checkPageForm(c) {
		return s.pageError(c, http.StatusForbidden, "error_form_expired", v.Restart)
	}
	ctx, cl := c.UserContext(), s.pageFormClient(c)
	v.Identifier, v.Flow = formValue(c, "identifier"), formValue(c, "flow")
	var (
		res *authn.LoginResult
		err error
	)
	step := formValue(c, "step")
	switch step {
	case "identifier":
		if limited, err := s.pageRateLimited(c); limited {
			return err
		}
		v.Step = "password"
		res, err = s.signin.StartLogin(ctx, authn.StartLoginRequest{Identifier: v.Identifier, Client: cl})
	case "password":
		v.Step = "password"
		res, err = s.signin.SubmitPassword(ctx, authn.PasswordRequest{FlowID: v.Flow, Password: formValue(c, "password"), Client: cl})
	case "email_code":
		if limited, err := s.pageRateLimited(c); limited {
			return err
		}
		v.Step = "password"
		res, err = s.signin.RequestEmailCode(ctx, authn.FlowRequest{FlowID: v.Flow, Client: cl})
	case "use":
		// Another second factor: an emailed code is sent first.
		v.Step, v.Method = "code", formValue(c, "method")
		v.Offered = formValue(c, "offered")
		v.Alternatives = alternativesTo(v.Method, v.Offered)
		switch authn.Method(v.Method) {
		case authn.MethodEmailCode:
			if limited, err := s.pageRateLimited(c); limited {
				return err
			}
			res, err = s.signin.RequestEmailCode(ctx, authn.FlowRequest{FlowID: v.Flow, Client: cl})
			if err == nil {
				res.Status, res.Methods = authn.LoginCodeSent, nil
			}
		case authn.MethodTOTP, authn.MethodRecoveryCode, authn.MethodPasskey:
			return s.signinRender(c, http.StatusOK, v)
		default:
			return s.pageError(c, http.StatusBadRequest, "flow_ended", v.Restart)
		}
	case "consent":
		v.Step = "consent"
		var shown bool
		if res, shown, err = s.signinConsent(c, v, cl); shown {
			return err
		}
	case "code":
		v.Step, v.Method, v.Offered = "code", formValue(c, "method"), formValue(c, "offered")
		v.Alternatives = alternativesTo(v.Method, v.Offered)
		req := authn.CodeRequest{FlowID: v.Flow, Code: formValue(c, "code"), Client: cl}
		switch authn.Method(v.Method) {
		case authn.MethodTOTP:
			res, err = s.signin.SubmitTOTP(ctx, req)
		case authn.MethodRecoveryCode:
			res, err = s.signin.SubmitRecoveryCode(ctx, req)
		case authn.MethodEmailCode:
			res, err = s.signin.SubmitEmailCode(ctx, req)
		default:
			return s.pageError(c, http.StatusBadRequest, "flow_ended", v.Restart)
		}
	case "passkey":
		if !s.passkeysOn() {
			return s.pageError(c, http.StatusBadRequest, "flow_ended", v.Restart)
		}
		res, err = s.signinPasskey(c, &v, cl)
	default:
		return s.pageError(c, http.StatusBadRequest, "flow_ended", v.Restart)
	}
	if err != nil {
		return s.signinRefused(c, err, v)
	}
	if res.Binding != "" {
		setFlowCookie(c, res.Binding, res.FlowExpiresAt)
	}
	if res.FlowID != "" {
		v.Flow = res.FlowID
	}
	v.Message = ""
	switch res.Status {
	case authn.LoginAuthenticated:
		return done(res)
	case authn.LoginChooseMethod:
		v.Step, v.EmailCode = "password", slices.Contains(res.Methods, authn.MethodEmailCode)
		if !slices.Contains(res.Methods, authn.MethodPassword) && v.EmailCode {
			// No password offered: the emailed code is the first factor.
			return s.signinUse(c, v, authn.MethodEmailCode, nil)
		}
		return s.signinRender(c, http.StatusOK, v)
	case authn.LoginCodeSent:
		v.Step, v.Method = "code", string(authn.MethodEmailCode)
		return s.signinRender(c, http.StatusOK, v)
	case authn.LoginConsentRequired:
		return s.consentStep(c, http.StatusOK, v, res.Consents, nil, false, "")
	case authn.LoginSecondFactor:
		m := authn.MethodEmailCode
		for _, x := range []authn.Method{authn.MethodPasskey, authn.MethodTOTP, authn.MethodRecoveryCode} {
			if x == authn.MethodPasskey && !s.passkeysOn() {
				continue
			}
			if slices.Contains(res.Methods, x) {
				m = x
				break
			}
		}
		return s.signinUse(c, v, m, res.Methods)
	}
	// Magic links and approvals are not offered on this page.
	return s.pageError(c, http.StatusBadRequest, "flow_ended", v.Restart)
}

// signinUse shows the code step for method m, sending the emailed code
// first when m is that.
func (s *Server) signinUse(c *fiber.Ctx, v signinView, m authn.Method, offered []authn.Method) error {
	v.Step, v.Method = "code", string(m)
	var all []string
	for _, o := range offered {
		all = append(all, string(o))
	}
	v.Offered = strings.Join(all, ",")
	v.Alternatives = alternativesTo(v.Method, v.Offered)
	if m == authn.MethodEmailCode {
		res, err := s.signin.RequestEmailCode(c.UserContext(), authn.FlowRequest{FlowID: v.Flow, Client: s.pageFormClient(c)})
		if err != nil {
			return s.signinRefused(c, err, v)
		}
		if res.FlowID != "" {
			v.Flow = res.FlowID
		}
		if res.Binding != "" {
			setFlowCookie(c, res.Binding, res.FlowExpiresAt)
		}
	}
	return s.signinRender(c, http.StatusOK, v)
}

// alternativesTo keeps the offered second factors (the comma list the
// switch buttons carry) other than m.
func alternativesTo(m, offered string) []string {
	var out []string
	for _, o := range strings.Split(offered, ",") {
		switch authn.Method(o) {
		case authn.MethodTOTP, authn.MethodRecoveryCode, authn.MethodEmailCode, authn.MethodPasskey:
			if o != m && !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out
}

// signinRefused shows a refused step on the page; what is not a refusal
// is an error page.
func (s *Server) signinRefused(c *fiber.Ctx, err error, v signinView) error {
	var ae *authn.Error
	if !errors.As(err, &ae) {
		if errors.Is(err, backend.ErrUnavailable) {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(BackendRetryAfter/time.Second)))
			return s.pageError(c, http.StatusServiceUnavailable, "error_busy", v.Restart)
		}
		s.log.Error("sign-in page", "err", err)
		return s.pageError(c, http.StatusInternalServerError, "error_generic", v.Restart)
	}
	switch ae.Code {
	case authn.CodeLoginFailed, authn.CodeInvalidRequest, authn.CodeInvalidEmail:
		if v.Step != "code" {
			v.Message = "signin_failed"
			if v.Step == "password" && v.Flow == "" {
				v.Step = "identifier"
			}
			return s.signinRender(c, http.StatusUnauthorized, v)
		}
		v.Message = "code_wrong"
		return s.signinRender(c, http.StatusUnauthorized, v)
	case authn.CodeInvalidCode:
		v.Message = "code_wrong"
		return s.signinRender(c, http.StatusUnauthorized, v)
	case authn.CodeFlowExpired, authn.CodeTooManyAttempts, authn.CodeInvalidStep:
		id, ret := v.Identifier, v.ReturnTo
		v = signinView{Step: "identifier", Action: v.Action, Restart: v.Restart, ReturnTo: ret, ReturnQuery: v.ReturnQuery,
			OIDC: v.OIDC, Client: v.Client, formTo: v.formTo, Identifier: id, Message: "flow_ended"}
		return s.signinRender(c, http.StatusUnauthorized, v)
	case authn.CodeRateLimited, authn.CodeBusy, authn.CodeUnavailable:
		if ae.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((ae.RetryAfter+time.Second-1)/time.Second)))
		}
		status := http.StatusServiceUnavailable
		if ae.Code == authn.CodeRateLimited {
			status = http.StatusTooManyRequests
		}
		return s.pageError(c, status, "error_busy", v.Restart)
	}
	return s.pageError(c, http.StatusForbidden, "error_blocked", v.Restart)
}

// pageRateLimited applies the per-IP limit of the JSON API's
// unauthenticated routes to a page step that starts something; limited
// is true when the page was refused (err is the page's answer).
func (s *Server) pageRateLimited(c *fiber.Ctx) (limited bool, err error) {
	if s.limiter == nil {
		return false, nil
	}
	ok, wait := s.allowIP(c.UserContext(), s.clientIP(c))
	if ok {
		return false, nil
	}
	c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	return true, s.pageError(c, http.StatusTooManyRequests, "error_busy", "/login")
}
