package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// The hosted registration (/register) and forgotten-password
// (/password/forgot) pages: one form each, posting to itself, then a
// "check your mail" page that is the same whether or not the address
// has an account (no enumeration). The links in those mails land on the
// pages of pages.go.

// registerView is the registration and forgot-password templates' view.
type registerView struct {
	Email    string
	Message  string // catalogue id of a refusal
	ReturnTo string
	// Consents are the declared purposes (pages_consent.go).
	Consents []consentItem
}

// registerPage answers GET /register.
func (s *Server) registerPage(c *fiber.Ctx) error {
	v := registerView{ReturnTo: s.safeReturnOrEmpty(c.Query("return_to"))}
	v.Consents, _ = consentItems(purposesOfService(s.registration), nil, false)
	return s.registerRender(c, http.StatusOK, "register", v)
}

// forgotPage answers GET /password/forgot.
func (s *Server) forgotPage(c *fiber.Ctx) error {
	return s.registerRender(c, http.StatusOK, "forgot", registerView{})
}

func (s *Server) registerRender(c *fiber.Ctx, status int, name string, v registerView) error {
	csrf, err := pageCSRF(c)
	if err != nil {
		return err
	}
	return s.render(c, status, page{Name: name, TitleID: name + "_title", State: name, CSRF: csrf, Scripts: []string{"device.js"}, V: v})
}

// safeReturnOrEmpty is safeReturn without the default, for passing on.
func (s *Server) safeReturnOrEmpty(raw string) string {
	if r := s.safeReturn(raw); r != defaultReturn || raw == defaultReturn {
		return r
	}
	return ""
}

// registerPost answers POST /register.
func (s *Server) registerPost(c *fiber.Ctx) error {
	v := registerView{Email: formValue(c, "email"), ReturnTo: s.safeReturnOrEmpty(formValue(c, "return_to"))}
	if !s.checkPageForm(c) {
		return s.pageError(c, http.StatusForbidden, "error_form_expired", "/register")
	}
	if limited, err := s.pageRateLimited(c); limited {
		return err
	}
	// A required purpose left unticked is the form's field error, before
	// anything is evaluated or hashed.
	choices, missing := consentChoices(c), false
	if v.Consents, missing = consentItems(purposesOfService(s.registration), choices, true); missing {
		v.Message = "consent_missing"
		return s.registerRender(c, http.StatusUnprocessableEntity, "register", v)
	}
	res, err := s.registration.Register(c.UserContext(), authn.RegisterRequest{Email: v.Email, Password: formValue(c, "password"),
		Consents: choices, Client: s.pageFormClient(c)})
	if consentFieldsRefused(err) {
		v.Message = "consent_changed"
		v.Consents, _ = consentItems(purposesOfService(s.registration), nil, false)
		return s.registerRender(c, http.StatusUnprocessableEntity, "register", v)
	}
	if err != nil {
		return s.formRefused(c, err, "register", v)
	}
	setRegistrationCookie(c, res.Binding, res.BindingExpiresAt)
	return s.render(c, http.StatusAccepted, page{Name: "notice", TitleID: "register_sent_title", State: "register-sent",
		V: struct{ Message, Email string }{"register_sent", v.Email}})
}

// forgotPost answers POST /password/forgot: the same answer for every
// address.
func (s *Server) forgotPost(c *fiber.Ctx) error {
	v := registerView{Email: formValue(c, "email")}
	if !s.checkPageForm(c) {
		return s.pageError(c, http.StatusForbidden, "error_form_expired", "/password/forgot")
	}
	if limited, err := s.pageRateLimited(c); limited {
		return err
	}
	err := s.reset.RequestPasswordReset(c.UserContext(), authn.PasswordResetRequest{Email: v.Email, Client: s.pageFormClient(c)})
	if err != nil {
		return s.formRefused(c, err, "forgot", v)
	}
	return s.render(c, http.StatusAccepted, page{Name: "notice", TitleID: "forgot_sent_title", State: "forgot-sent",
		V: struct{ Message, Email string }{"forgot_sent", v.Email}})
}

// formRefused shows a refused registration or reset request on its form,
// or the error page.
func (s *Server) formRefused(c *fiber.Ctx, err error, name string, v registerView) error {
	var ae *authn.Error
	if !errors.As(err, &ae) {
		if errors.Is(err, backend.ErrUnavailable) {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(BackendRetryAfter/time.Second)))
			return s.pageError(c, http.StatusServiceUnavailable, "error_busy", "")
		}
		s.log.Error(name+" page", "err", err)
		return s.pageError(c, http.StatusInternalServerError, "error_generic", "")
	}
	switch ae.Code {
	case authn.CodeInvalidEmail:
		v.Message = "register_invalid_email"
	case authn.CodeInvalidRequest:
		v.Message = "account_error_invalid"
	case authn.CodePasswordTooShort, authn.CodePasswordTooLong, authn.CodePasswordBreached, authn.CodePasswordContext,
		authn.CodePasswordInvalidChars, authn.CodePasswordRepetitive:
		v.Message = accountErrorID(ae.Code)
	case authn.CodeRateLimited, authn.CodeBusy, authn.CodeUnavailable:
		if ae.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((ae.RetryAfter+time.Second-1)/time.Second)))
		}
		return s.pageError(c, http.StatusServiceUnavailable, "error_busy", "")
	default: // CodeRequestRefused among others: nothing to tell
		return s.pageError(c, http.StatusForbidden, "error_blocked", "")
	}
	return s.registerRender(c, http.StatusUnprocessableEntity, name, v)
}
