package httpapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/leaf/backend"
)

// The account pages over the self-service API's services: profile
// (/account), security (/account/security: password, authenticator app,
// recovery codes), devices, sessions and activity. Each is a GET that
// needs the session cookie (else it sends the browser to /login and back)
// and forms posting to POST /account with an "action"; the answer is a
// 303 back to the page with a notice, or the page again with what went
// wrong. The same authn services as the JSON API do the work, so every
// change is audited and notified there.

// accountView is what every account template sees in page.V.
type accountView struct {
	Section string // the nav's current page
	// Notice and Error are catalogue ids, shown on top.
	Notice, Error string
	Account       *authn.AccountView
	Sessions      []authn.SessionInfo
	Devices       []accountDevice
	Activity      []accountActivity
	// The security page's state. The account view lists no factors, so
	// the page offers both setting up and removing the app, and authn
	// refuses the one that does not apply.
	TOTP    *authn.TOTPEnrollment
	QR      string // data: URL of the enrolment QR code
	Codes   []string
	Locales []string
	Reauth  string // the link that signs in again, for a stale session
	// Passkeys is the security page's passkey section (pages_passkey.go);
	// nil when passkeys are off.
	Passkeys *authn.PasskeyList
	// Identities is the security page's linked identities section
	// (upstream_account.go); nil without an identity store.
	Identities []identityRow
}

type accountDevice struct {
	authn.DeviceInfo
	Label string
}

type accountActivity struct {
	authn.Activity
	Device string
	Mine   bool // may still be disowned
}

// accountSections are the account pages, in the nav's order.
var accountSections = []string{"profile", "security", "devices", "sessions", "activity"}

func accountPath(section string) string {
	if section == "profile" {
		return "/account"
	}
	return "/account/" + section
}

// accountSession resolves the cookie or sends the browser to sign in
// (done is true then).
func (s *Server) accountSession(c *fiber.Ctx, back string) (tok string, done bool, err error) {
	tok = c.Cookies(SessionCookie)
	if tok != "" {
		if _, err := s.sessions.Authenticate(c.UserContext(), tok); err == nil {
			return tok, false, nil
		}
	}
	return "", true, c.Redirect("/login?"+url.Values{"return_to": {back}}.Encode(), http.StatusSeeOther)
}

// accountPage answers GET /account and /account/{section}.
func (s *Server) accountPage(section string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.self == nil || s.sessions == nil {
			return authnDisabled(c)
		}
		tok, done, err := s.accountSession(c, accountPath(section))
		if done {
			return err
		}
		v := accountView{Section: section, Notice: noticeID(c.Query("done"))}
		return s.renderAccount(c, http.StatusOK, tok, v)
	}
}

// noticeID keeps the notices the POST handler redirects with.
func noticeID(n string) string {
	switch n {
	case "profile", "password", "totp_removed", "session_revoked", "others_revoked", "device_forgotten", "not_me",
		"passkey_added", "passkey_renamed", "passkey_removed", "identity_unlinked":
		return "account_done_" + n
	}
	return ""
}

// renderAccount loads what the section shows and renders it.
func (s *Server) renderAccount(c *fiber.Ctx, status int, tok string, v accountView) error {
	ctx := c.UserContext()
	acc, err := s.self.Account(ctx, tok)
	if err != nil {
		return s.accountFailed(c, err, v.Section)
	}
	v.Account, v.Locales = acc, []string{"", "en", "de"}
	switch v.Section {
	case "security":
		if s.account == nil {
			return authnDisabled(c)
		}
		v.Reauth = "/login?" + url.Values{"prompt": {"login"}, "return_to": {"/account/security"}}.Encode()
		if v.TOTP != nil && len(v.TOTP.QRPNG) > 0 {
			v.QR = "data:image/png;base64," + base64.StdEncoding.EncodeToString(v.TOTP.QRPNG)
		}
		if v.Passkeys, err = s.loadAccountPasskeys(c, tok); err != nil {
			return s.accountFailed(c, err, v.Section)
		}
		if v.Identities, err = s.loadAccountIdentities(c, tok); err != nil {
			return s.accountFailed(c, err, v.Section)
		}
	case "devices":
		ds, err := s.self.Devices(ctx, tok)
		if err != nil {
			return s.accountFailed(c, err, v.Section)
		}
		for _, d := range ds {
			label := d.Name
			if label == "" {
				label = s.deviceLabel(d.UserAgent)
			}
			v.Devices = append(v.Devices, accountDevice{DeviceInfo: d, Label: label})
		}
	case "sessions":
		if v.Sessions, err = s.sessions.ListSessions(ctx, tok); err != nil {
			return s.accountFailed(c, err, v.Section)
		}
	case "activity":
		as, err := s.self.ListActivity(ctx, tok, "", 50)
		if err != nil {
			return s.accountFailed(c, err, v.Section)
		}
		for _, a := range as {
			v.Activity = append(v.Activity, accountActivity{Activity: a, Device: s.deviceLabel(a.UserAgent),
				Mine: a.DisownedAt.IsZero() && a.Kind == "login_succeeded"})
		}
	}
	csrf, err := pageCSRF(c)
	if err != nil {
		return err
	}
	var scripts []string
	if v.Passkeys != nil {
		scripts = []string{"passkey.js"}
	}
	return s.render(c, status, page{Name: "account", TitleID: "account_" + v.Section + "_title", State: v.Section, CSRF: csrf,
		Locale: acc.Profile.Locale, Scripts: scripts, V: &v})
}

// accountFailed renders a failed load: a stale session signs in again.
func (s *Server) accountFailed(c *fiber.Ctx, err error, section string) error {
	if authn.CodeOf(err) == authn.CodeSessionInvalid {
		clearSessionCookie(c)
		return c.Redirect("/login?"+url.Values{"return_to": {accountPath(section)}}.Encode(), http.StatusSeeOther)
	}
	if errors.Is(err, backend.ErrUnavailable) || authn.CodeOf(err) == authn.CodeBusy {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(BackendRetryAfter/time.Second)))
		return s.pageError(c, http.StatusServiceUnavailable, "error_busy", "")
	}
	s.log.Error("account page", "err", err)
	return s.pageError(c, http.StatusInternalServerError, "error_generic", "")
}

// accountPost answers POST /account: one action, then back to its page.
func (s *Server) accountPost(c *fiber.Ctx) error {
	if s.self == nil || s.sessions == nil || s.account == nil {
		return authnDisabled(c)
	}
	action := formValue(c, "action")
	section := formValue(c, "section")
	if !validSection(section) {
		section = "profile"
	}
	if !s.checkPageForm(c) {
		return s.pageError(c, http.StatusForbidden, "error_form_expired", accountPath(section))
	}
	tok, done, err := s.accountSession(c, accountPath(section))
	if done {
		return err
	}
	ctx, cl := c.UserContext(), s.pageFormClient(c)
	back := func(notice string) error {
		return c.Redirect(accountPath(section)+"?done="+notice, http.StatusSeeOther)
	}
	v := accountView{Section: section}
	switch action {
	case "logout":
		if err := s.sessions.Logout(ctx, tok, cl); err != nil && authn.CodeOf(err) != authn.CodeSessionInvalid {
			return s.accountFailed(c, err, section)
		}
		clearSessionCookie(c)
		return c.Redirect("/login", http.StatusSeeOther)
	case "profile":
		p := authn.ProfilePatch{Fields: map[string]string{}}
		for _, f := range []string{authn.FieldDisplayName, authn.FieldGivenName, authn.FieldFamilyName, authn.FieldLocale, authn.FieldTimeZone} {
			p.Fields[f] = formValue(c, f)
		}
		_, err = s.self.UpdateProfile(ctx, authn.UpdateProfileRequest{SessionToken: tok, IfMatch: authn.AnyVersion, Patch: p, Client: cl})
		if err == nil {
			return back("profile")
		}
	case "password":
		err = s.account.ChangePassword(ctx, authn.ChangePasswordRequest{SessionToken: tok, CurrentPassword: formValue(c, "current_password"),
			NewPassword: formValue(c, "new_password"), Client: cl})
		if err == nil {
			return back("password")
		}
	case "totp_begin":
		v.TOTP, err = s.account.BeginTOTP(ctx, tok)
		if err == nil {
			return s.renderAccount(c, http.StatusOK, tok, v)
		}
	case "totp_confirm":
		var rc *authn.RecoveryCodes
		rc, err = s.account.ConfirmTOTP(ctx, authn.ConfirmTOTPRequest{SessionToken: tok, FactorID: formValue(c, "factor_id"),
			Code: formValue(c, "code"), Client: cl})
		if err == nil {
			setSessionCookie(c, rc.Session)
			v.Codes, v.Notice = rc.Codes, "account_done_totp"
			return s.renderAccount(c, http.StatusOK, rc.Session.Token, v)
		}
	case "totp_remove":
		var r *authn.SessionRotation
		r, err = s.account.RemoveTOTP(ctx, authn.RemoveTOTPRequest{SessionToken: tok, Password: formValue(c, "current_password"), Client: cl})
		if err == nil {
			setSessionCookie(c, r.Session)
			return back("totp_removed")
		}
	case "recovery_codes":
		var rc *authn.RecoveryCodes
		rc, err = s.account.RegenerateRecoveryCodes(ctx, authn.RegenerateRecoveryCodesRequest{SessionToken: tok, Client: cl})
		if err == nil {
			setSessionCookie(c, rc.Session)
			v.Codes, v.Notice = rc.Codes, "account_done_codes"
			return s.renderAccount(c, http.StatusOK, rc.Session.Token, v)
		}
	case "revoke_session":
		if err = s.sessions.RevokeSession(ctx, tok, formValue(c, "id"), cl); err == nil {
			return back("session_revoked")
		}
	case "revoke_others":
		if _, err = s.sessions.RevokeOtherSessions(ctx, tok, cl); err == nil {
			return back("others_revoked")
		}
	case "forget_device":
		if _, err = s.self.ForgetDevice(ctx, tok, formValue(c, "id"), cl); err == nil {
			return back("device_forgotten")
		}
	case "not_me":
		if _, err = s.self.DisownActivity(ctx, tok, formValue(c, "id"), cl); err == nil {
			return back("not_me")
		}
	case "identity_unlink":
		ua := s.upstreamAccount()
		if ua == nil {
			return authnDisabled(c)
		}
		if err = ua.UnlinkIdentity(ctx, authn.UnlinkIdentityRequest{SessionToken: tok, ID: formValue(c, "id"), Client: cl}); err == nil {
			return back("identity_unlinked")
		}
	case "passkey_rename", "passkey_remove":
		var notice string
		if notice, err = s.passkeyAccountAction(c, tok, action, cl); err == nil {
			return back(notice)
		}
	default:
		return s.pageError(c, http.StatusBadRequest, "error_generic", accountPath(section))
	}
	var ae *authn.Error
	if !errors.As(err, &ae) || ae.Code == authn.CodeSessionInvalid || ae.Code == authn.CodeBusy || ae.Code == authn.CodeUnavailable {
		return s.accountFailed(c, err, section)
	}
	v.Error = accountErrorID(ae.Code)
	return s.renderAccount(c, http.StatusUnprocessableEntity, tok, v)
}

func validSection(s string) bool {
	for _, x := range accountSections {
		if x == s {
			return true
		}
	}
	return false
}

// accountErrorID is the catalogue id of a refused account action.
func accountErrorID(code authn.Code) string {
	switch code {
	case authn.CodeInvalidPassword:
		return "account_error_invalid_password"
	case authn.CodeReauthenticationRequired:
		return "account_error_reauth"
	case authn.CodeInvalidCode:
		return "code_wrong"
	case authn.CodeEmailUnverified:
		return "account_error_email_unverified"
	case authn.CodePasswordTooShort, authn.CodePasswordTooLong, authn.CodePasswordBreached, authn.CodePasswordContext,
		authn.CodePasswordInvalidChars, authn.CodePasswordRepetitive:
		return "account_error_" + string(code)
	case authn.CodeNotFound:
		return "account_error_not_found"
	case authn.CodeInvalidRequest:
		return "account_error_invalid"
	}
	return "error_generic"
}
