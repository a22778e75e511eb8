package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// The links in mail (magic link, email verification, password reset) land
// on these small pages. A magic link opened away from the browser that
// asked for it asks the owner to approve or deny that sign-in instead of
// signing in here; a verification link opened away from the registering
// browser asks for the password to set. Loading a page never spends its token: mail
// scanners and link previewers fetch URLs, and a link consumed by a GET
// would be dead before the user clicks it. The page asks for a click (and
// for a reset, the new password) and only then POSTs the token to the JSON
// API, from the same origin, so the API's CSRF rules hold for it too.
//
// Hardening: Referrer-Policy no-referrer (the token is in the URL), the
// hosted pages' Content-Security-Policy (nonce scripts only: the page's
// script is assets/links.js; connections to its own origin), no framing,
// and the token is dropped from the address bar and history as soon as
// the script has read it. The texts are the catalogue's (pages_i18n.go).

type pageKind int

const (
	pageMagicLink pageKind = iota
	pageVerifyEmail
	pageResetPassword
)

// linkView is what differs between the pages (catalogue ids), plus the
// texts the script shows (assets/links.js reads them from data-
// attributes, in the page's language).
type linkView struct {
	Mode, Title, Intro, Button string
	NewPassword                bool
	Texts                      map[string]string
}

// linkTexts are the script's texts: data attribute name (lower-case
// letters only: html/template refuses other computed attribute names),
// catalogue id.
var linkTexts = map[string]string{
	"incomplete": "link_incomplete", "labeltotp": "code_label_totp", "labelrecovery": "code_label_recovery_code",
	"labelpassword": "password_label", "labelemailcode": "link_code_email", "failed": "error_generic",
	"invalidtoken": "link_invalid", "unknowndevice": "link_unknown_device", "approve": "link_approve",
	"approval": "link_approval", "finishelsewhere": "link_finish_elsewhere", "onemorestep": "link_one_more_step",
	"choosepassword": "link_choose_password", "confirmedsetpassword": "link_confirmed_set_password",
	"setpassword": "link_reset_button", "passwordset": "link_password_set", "approved": "link_approved",
	"denied": "link_denied", "signedin": "link_signed_in", "verified": "link_verified", "reset": "link_reset_done",
	"working": "link_working", "unreachable": "link_unreachable",
}

var linkViews = map[pageKind]linkView{
	pageMagicLink:     {Mode: "magic", Title: "link_magic_title", Intro: "link_magic_intro", Button: "signin"},
	pageVerifyEmail:   {Mode: "verify", Title: "link_verify_title", Intro: "link_verify_intro", Button: "link_verify_button"},
	pageResetPassword: {Mode: "reset", Title: "link_reset_title", Intro: "link_reset_intro", Button: "link_reset_button", NewPassword: true},
}

// linkPage serves one page; the token stays in the URL for the script,
// and no referrer leaves the page (the URL holds the token).
func (s *Server) linkPage(k pageKind) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v := linkViews[k]
		v.Texts = linkTexts
		if err := s.render(c, http.StatusOK, page{Name: "link", TitleID: v.Title, State: "loading", Mode: v.Mode,
			Scripts: []string{"links.js"}, V: v}); err != nil {
			return err
		}
		c.Response().Header.Set("Referrer-Policy", "no-referrer")
		return nil
	}
}
