package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/engine"
)

// Consents on the hosted forms: the registration page asks for every
// declared purpose (authn.account.purposes) as a checkbox with its text
// or link, the required ones marked and required; a sign-in that authn
// holds for consents (consent_required: a required purpose never
// accepted, or accepted at an older version) shows the consent step,
// whose form posts step=consent to /login. A required purpose left
// unticked is a field error on that checkbox, answered before anything
// is evaluated. Each checkbox carries "purpose:version", the version the
// user saw: authn refuses a version that is no longer current, and the
// page then shows the new one.

// purposeLister is implemented by *authn.Registration and *authn.SignIn:
// the declared purposes at their current versions.
type purposeLister interface {
	Purposes() []authn.PurposeState
}

// consentItem is one purpose on a form.
type consentItem struct {
	authn.PurposeState
	// Checked: ticked in the form being shown again; Missing: required
	// and not ticked (the field error).
	Checked, Missing bool
}

// maxConsentChoices bounds the checkboxes read from a form.
const maxConsentChoices = 64

// purposesOfService are svc's declared purposes, nil when it keeps none.
func purposesOfService(svc any) []authn.PurposeState {
	if l, ok := svc.(purposeLister); ok {
		return l.Purposes()
	}
	return nil
}

// consentChoices reads the form's "consent" checkboxes
// ("purpose:version"); a malformed one is dropped (authn then finds the
// purpose missing, if it was required).
func consentChoices(c *fiber.Ctx) []authn.ConsentChoice {
	var out []authn.ConsentChoice
	for _, raw := range formValues(c, "consent") {
		name, ver, ok := strings.Cut(raw, ":")
		n, err := strconv.Atoi(ver)
		if !ok || err != nil || name == "" || len(name) > 64 || len(out) == maxConsentChoices {
			continue
		}
		out = append(out, authn.ConsentChoice{Purpose: name, Version: n})
	}
	return out
}

// consentItems are the purposes ps as the form shows them again after
// choices; missing is true when a required one is not ticked at its
// current version. Without choices (check false) nothing is missing.
func consentItems(ps []authn.PurposeState, choices []authn.ConsentChoice, check bool) (items []consentItem, missing bool) {
	for _, p := range ps {
		it := consentItem{PurposeState: p}
		it.Checked = slices.ContainsFunc(choices, func(ch authn.ConsentChoice) bool {
			return ch.Purpose == p.Purpose.Name && ch.Version == p.Current.Version
		})
		if check && p.Purpose.Required && !it.Checked {
			it.Missing, missing = true, true
		}
		items = append(items, it)
	}
	return items, missing
}

// consentFieldsRefused reports whether an authn refusal is about the
// consents (a version no longer current, an unknown purpose).
func consentFieldsRefused(err error) bool {
	var ae *authn.Error
	if !errors.As(err, &ae) || ae.Code != authn.CodeInvalidRequest {
		return false
	}
	return slices.ContainsFunc(ae.Fields, func(f engine.FieldError) bool { return strings.HasPrefix(f.Field, "consents") })
}

// consentStep renders a sign-in's consent step with the purposes named
// (the pending ones), message on top when set.
func (s *Server) consentStep(c *fiber.Ctx, status int, v signinView, pending []authn.PurposeState, choices []authn.ConsentChoice, check bool, message string) error {
	v.Step, v.Message = "consent", message
	v.Consents, _ = consentItems(pending, choices, check)
	names := make([]string, len(pending))
	for i, p := range pending {
		names[i] = p.Purpose.Name
	}
	v.Pending = strings.Join(names, ",")
	csrf := v.csrf // the OIDC login's own token
	if csrf == "" {
		var err error
		if csrf, err = pageCSRF(c); err != nil {
			return err
		}
	}
	return s.renderTo(c, status, page{Name: "consent", TitleID: "consent_title", State: "consent", CSRF: csrf,
		Scripts: []string{"device.js"}, V: v}, v.formTo)
}

// pendingOfForm are the declared purposes the consent form listed (its
// "pending" field): the step is shown again with the same purposes.
func (s *Server) pendingOfForm(c *fiber.Ctx) []authn.PurposeState {
	names := strings.Split(formValue(c, "pending"), ",")
	var out []authn.PurposeState
	for _, p := range purposesOfService(s.signin) {
		if slices.Contains(names, p.Purpose.Name) {
			out = append(out, p)
		}
	}
	return out
}

// signinConsent is the consent step of POST /login: a required purpose
// left unticked shows the step again with its field error (shown is
// true, err the page's answer); otherwise authn records the consents and
// continues the sign-in.
func (s *Server) signinConsent(c *fiber.Ctx, v signinView, cl authn.Client) (res *authn.LoginResult, shown bool, err error) {
	pending, choices := s.pendingOfForm(c), consentChoices(c)
	if _, missing := consentItems(pending, choices, true); missing {
		return nil, true, s.consentStep(c, http.StatusUnprocessableEntity, v, pending, choices, true, "consent_missing")
	}
	res, err = s.signin.AcceptConsents(c.UserContext(), authn.AcceptConsentsRequest{FlowID: v.Flow, Consents: choices, Client: cl})
	if consentFieldsRefused(err) {
		// A purpose changed meanwhile: the step again, with what is
		// pending now.
		return nil, true, s.consentStep(c, http.StatusUnprocessableEntity, v, pending, nil, false, "consent_changed")
	}
	switch authn.CodeOf(err) {
	case authn.CodeLoginFailed, authn.CodeInvalidRequest, authn.CodeInvalidCode, authn.CodeInvalidEmail:
		// Nothing the consent form can mend (the account went away
		// meanwhile): sign in again.
		return nil, true, s.pageError(c, http.StatusUnauthorized, "flow_ended", v.Restart)
	}
	return res, false, err
}

// oidcConsentStep shows the consent step of an OpenID Connect login,
// posting to /oidc/login/consent with the login page's CSRF token.
func (s *Server) oidcConsentStep(c *fiber.Ctx, view oidcLoginView, p *oidc.LoginPrompt, flow string, pending []authn.PurposeState) error {
	return s.consentStep(c, http.StatusOK, oidcPurposeView(view, p, flow), pending, nil, false, "")
}

func oidcPurposeView(view oidcLoginView, p *oidc.LoginPrompt, flow string) signinView {
	return signinView{Step: "consent", Action: oidc.DefaultLoginPath + "/consent", OIDC: view.ID, Client: view.Client, Flow: flow,
		formTo: sourceOf(p.RedirectURI), csrf: view.CSRF}
}

// oidcLoginConsent answers POST /oidc/login/consent: the consent step of
// an OpenID Connect login, then the authorization goes on as after any
// sign-in step.
func (s *Server) oidcLoginConsent(c *fiber.Ctx) error {
	if err := s.oidcForm(c); err != nil {
		return err
	}
	id := formValue(c, "id")
	p, done, err := s.oidcPrompt(c, id)
	if done {
		return err
	}
	view := oidcLoginView{State: "password", Client: p.ClientName, ID: id, CSRF: formValue(c, "csrf"), Action: oidc.DefaultLoginPath}
	res, shown, err := s.signinConsent(c, oidcPurposeView(view, p, formValue(c, "flow")), s.pageFormClient(c))
	if shown {
		return err
	}
	if err != nil {
		return s.oidcSignInError(c, err, view, p)
	}
	amr := []string{oidc.AMRPassword}
	if res.Session != nil && res.Session.AAL >= authn.AAL2 {
		amr = append(amr, oidc.AMROTP)
	}
	return s.oidcAnswer(c, res, view, p, amr)
}
