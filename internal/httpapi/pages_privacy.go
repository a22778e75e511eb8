package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// The account's privacy page (/account/privacy) over the self-service
// API's consents, preferences, export and erasure (account_consents.go,
// account_privacy.go): every declared purpose with its version and text
// or link, granted and withdrawn by one button each (withdrawing is as
// easy as granting); the communication preferences; the data export; and
// the erasure, with what happens and the grace period said before the
// user commits. Forms post to POST /account/privacy with an "action",
// CSRF-checked like every page form, and call the same authn services as
// the JSON API, so every change is audited and emitted there. The export
// and the erasure need a fresh session: their forms ask for the password
// (and the second factor, when the account has one) and re-authenticate
// first, so nobody has to leave the page to sign in again.
//
// The mailed export link lands on /account/export: loading it spends
// nothing (mail scanners fetch links); its button posts the token back,
// which downloads the bundle.

// privacyLimits is implemented by *authn.SelfService: the terms the page
// states. A service without it leaves them unsaid.
type privacyLimits interface {
	PrivacyLimits() authn.PrivacyLimits
}

// privacyView is the privacy template's page.V.
type privacyView struct {
	Section string // "privacy", for the account nav
	Email   string // the account's, for password managers
	// Notice and Error are catalogue ids shown on top; Hours fills the
	// export limit's message.
	Notice, Error string
	Hours         int
	// ConsentsOn and PrivacyOn say whether the server keeps consents,
	// and serves export and erasure.
	ConsentsOn, PrivacyOn bool
	Purposes              []authn.PurposeState
	Channels, Topics      []privacyChoice
	Languages             []privacyChoice
	Deletion              *authn.DeletionRequest
	// GraceDays, ExportHours and LinkMinutes are the configured terms
	// (0: unknown, not stated).
	GraceDays, ExportHours, LinkMinutes int
}

// privacyChoice is one value a preference may take.
type privacyChoice struct {
	Value   string
	Checked bool
}

func choicesOf(allowed, chosen []string) []privacyChoice {
	out := make([]privacyChoice, len(allowed))
	for i, a := range allowed {
		out[i] = privacyChoice{Value: a}
		for _, c := range chosen {
			if c == a {
				out[i].Checked = true
			}
		}
	}
	return out
}

// privacyNotices are the notices POST /account/privacy redirects with.
var privacyNotices = map[string]bool{"granted": true, "withdrawn": true, "preferences": true, "export": true,
	"deletion": true, "deletion_cancelled": true}

// privacyPage answers GET /account/privacy.
func (s *Server) privacyPage(c *fiber.Ctx) error {
	tok, done, err := s.accountSession(c, accountPath("privacy"))
	if done {
		return err
	}
	v := privacyView{}
	if n := c.Query("done"); privacyNotices[n] {
		v.Notice = "privacy_done_" + n
	}
	return s.renderPrivacy(c, http.StatusOK, tok, v)
}

// renderPrivacy loads the consents, preferences and any pending erasure,
// and renders the page. A part the server does not serve is left out.
func (s *Server) renderPrivacy(c *fiber.Ctx, status int, tok string, v privacyView) error {
	ctx := c.UserContext()
	v.Section = "privacy"
	acc, err := s.self.Account(ctx, tok)
	if err != nil {
		return s.accountFailed(c, err, v.Section)
	}
	v.Email = acc.Email
	cv, err := s.self.Consents(ctx, tok)
	switch {
	case err == nil:
		v.ConsentsOn, v.Purposes = true, cv.Purposes
	case authn.CodeOf(err) != authn.CodeNotFound:
		return s.accountFailed(c, err, v.Section)
	}
	if v.ConsentsOn {
		pv, err := s.self.Preferences(ctx, tok)
		if err != nil {
			return s.accountFailed(c, err, v.Section)
		}
		p := pv.Preferences
		v.Channels, v.Topics = choicesOf(pv.Spec.Channels, p.Channels), choicesOf(pv.Spec.Topics, p.Topics)
		v.Languages = choicesOf(append([]string{""}, pv.Spec.Languages...), []string{p.Language})
	}
	del, err := s.self.DeletionStatus(ctx, tok)
	switch {
	case err == nil:
		v.PrivacyOn, v.Deletion = true, del
	case authn.CodeOf(err) != authn.CodeUnavailable:
		return s.accountFailed(c, err, v.Section)
	}
	if l, ok := s.self.(privacyLimits); ok {
		lim := l.PrivacyLimits()
		v.GraceDays = int((lim.DeletionGrace + 24*time.Hour - 1) / (24 * time.Hour))
		v.ExportHours = int((lim.ExportInterval + time.Hour - 1) / time.Hour)
		v.LinkMinutes = int((lim.ExportLinkTTL + time.Minute - 1) / time.Minute)
	}
	csrf, err := pageCSRF(c)
	if err != nil {
		return err
	}
	return s.render(c, status, page{Name: "account_privacy", TitleID: "account_privacy_title", State: "privacy", CSRF: csrf,
		Locale: acc.Profile.Locale, V: &v})
}

// privacyPost answers POST /account/privacy: one action, then back to
// the page with a notice, or the page with what went wrong.
func (s *Server) privacyPost(c *fiber.Ctx) error {
	if s.self == nil || s.sessions == nil || s.account == nil {
		return authnDisabled(c)
	}
	back := accountPath("privacy")
	if !s.checkPageForm(c) {
		return s.pageError(c, http.StatusForbidden, "error_form_expired", back)
	}
	tok, done, err := s.accountSession(c, back)
	if done {
		return err
	}
	ctx, cl := c.UserContext(), s.pageFormClient(c)
	ok := func(notice string) error { return c.Redirect(back+"?done="+notice, http.StatusSeeOther) }
	var v privacyView
	switch formValue(c, "action") {
	case "grant":
		version, _ := strconv.Atoi(formValue(c, "version"))
		_, err = s.self.GrantConsents(ctx, authn.GrantConsentsRequest{SessionToken: tok, Client: cl,
			Consents: []authn.ConsentChoice{{Purpose: formValue(c, "purpose"), Version: version}}})
		if err == nil {
			return ok("granted")
		}
	case "withdraw":
		if _, err = s.self.WithdrawConsent(ctx, tok, formValue(c, "purpose"), cl); err == nil {
			return ok("withdrawn")
		}
	case "preferences":
		channels, topics, lang := formValues(c, "channels"), formValues(c, "topics"), formValue(c, "language")
		_, err = s.self.UpdatePreferences(ctx, authn.UpdatePreferencesRequest{SessionToken: tok, IfMatch: authn.AnyVersion,
			Patch: authn.PreferencesPatch{Channels: &channels, Topics: &topics, Language: &lang}, Client: cl})
		if err == nil {
			return ok("preferences")
		}
	case "export":
		if tok, err = s.privacyReauth(c, tok, cl); err == nil {
			if _, err = s.self.RequestExport(ctx, tok, cl); err == nil {
				return ok("export")
			}
		}
	case "delete":
		if formValue(c, "confirm") != "yes" {
			v.Error = "privacy_delete_unconfirmed"
			return s.renderPrivacy(c, http.StatusUnprocessableEntity, tok, v)
		}
		if tok, err = s.privacyReauth(c, tok, cl); err == nil {
			if _, err = s.self.RequestDeletion(ctx, tok, cl); err == nil {
				return ok("deletion")
			}
		}
	case "cancel_deletion":
		if _, err = s.self.CancelDeletion(ctx, tok, cl); err == nil {
			return ok("deletion_cancelled")
		}
	default:
		return s.pageError(c, http.StatusBadRequest, "error_generic", back)
	}
	return s.privacyRefused(c, tok, err)
}

// privacyReauth re-authenticates with the form's password and code (the
// session is replaced: the new token is returned and set as the cookie).
// Without a password it keeps the session, which authn then finds fresh
// enough or not.
func (s *Server) privacyReauth(c *fiber.Ctx, tok string, cl authn.Client) (string, error) {
	pw := formValue(c, "password")
	if pw == "" {
		return tok, nil
	}
	r := authn.ReauthRequest{SessionToken: tok, Password: pw, Client: cl}
	if code := strings.TrimSpace(formValue(c, "code")); isDigits(code) {
		r.TOTPCode = code
	} else {
		r.RecoveryCode = code
	}
	is, err := s.account.Reauthenticate(c.UserContext(), r)
	if err != nil {
		return tok, err
	}
	setSessionCookie(c, is)
	return is.Token, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// privacyRefused shows a refused action on the page, or the error page
// for what the page cannot help with.
func (s *Server) privacyRefused(c *fiber.Ctx, tok string, err error) error {
	var ae *authn.Error
	if !errors.As(err, &ae) || ae.Code == authn.CodeSessionInvalid || ae.Code == authn.CodeBusy || ae.Code == authn.CodeUnavailable {
		return s.accountFailed(c, err, "privacy")
	}
	v, status := privacyView{}, http.StatusUnprocessableEntity
	switch ae.Code {
	case authn.CodeLoginFailed, authn.CodeInvalidPassword:
		v.Error = "account_error_invalid_password"
	case authn.CodeInvalidCode:
		v.Error = "privacy_error_code"
	case authn.CodeReauthenticationRequired:
		v.Error, status = "privacy_error_reauth", http.StatusForbidden
	case authn.CodeRateLimited:
		hours := int((ae.RetryAfter + time.Hour - 1) / time.Hour)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int((ae.RetryAfter+time.Second-1)/time.Second)))
		v.Error, v.Hours, status = "privacy_export_limited", hours, http.StatusTooManyRequests
	default:
		v.Error = accountErrorID(ae.Code)
	}
	return s.renderPrivacy(c, status, tok, v)
}

// formValues are the values of a repeated form field (checkboxes),
// copied out of the request buffer.
func formValues(c *fiber.Ctx, key string) []string {
	out := []string{}
	for _, b := range c.Request().PostArgs().PeekMulti(key) {
		out = append(out, string(b))
	}
	return out
}

// exportView is the download landing's page.V.
type exportView struct {
	Token, Error string
}

// exportPage answers GET /account/export?token=: the mailed link's
// landing. Opening it spends nothing; signed out, it signs in first and
// comes back.
func (s *Server) exportPage(c *fiber.Ctx) error {
	tok := strings.Clone(c.Query("token"))
	if tok == "" || len(tok) > wire.MaxSecretBytes {
		return s.pageError(c, http.StatusBadRequest, "privacy_export_link_invalid", accountPath("privacy"))
	}
	if _, done, err := s.accountSession(c, "/account/export?"+url.Values{"token": {tok}}.Encode()); done {
		c.Response().Header.Set("Referrer-Policy", "no-referrer")
		return err
	}
	return s.renderExport(c, http.StatusOK, exportView{Token: tok})
}

func (s *Server) renderExport(c *fiber.Ctx, status int, v exportView) error {
	csrf, err := pageCSRF(c)
	if err != nil {
		return err
	}
	if err := s.render(c, status, page{Name: "account_export", TitleID: "privacy_export_ready_title", State: "export", CSRF: csrf,
		V: v}); err != nil {
		return err
	}
	// The URL holds the token: no referrer leaves the page.
	c.Response().Header.Set("Referrer-Policy", "no-referrer")
	return nil
}

// exportPost answers POST /account/export: the bundle, as the JSON API's
// download answers it.
func (s *Server) exportPost(c *fiber.Ctx) error {
	if s.self == nil || s.sessions == nil {
		return authnDisabled(c)
	}
	back := accountPath("privacy")
	if !s.checkPageForm(c) {
		return s.pageError(c, http.StatusForbidden, "error_form_expired", back)
	}
	link := formValue(c, "token")
	tok, done, err := s.accountSession(c, "/account/export?"+url.Values{"token": {link}}.Encode())
	if done {
		return err
	}
	if link == "" || len(link) > wire.MaxSecretBytes {
		return s.pageError(c, http.StatusBadRequest, "privacy_export_link_invalid", back)
	}
	b, err := s.self.DownloadExport(c.UserContext(), tok, link, s.pageFormClient(c))
	if authn.CodeOf(err) == authn.CodeInvalidToken {
		return s.renderExport(c, http.StatusGone, exportView{Error: "privacy_export_link_invalid"})
	}
	if err != nil {
		return s.accountFailed(c, err, "privacy")
	}
	return sendExport(c, b)
}
