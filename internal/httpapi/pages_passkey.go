package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
)

// Passkeys on the hosted pages. assets/passkey.js runs the browser's half
// of each ceremony (navigator.credentials) over the JSON API's begin
// routes; the server's half of a sign-in ends here, as a form post of the
// assertion to the sign-in page (step "passkey"), so that a passkey
// sign-in lands exactly where a password one does (return_to, the OIDC
// authorization) and is refused on the page the same way. Renaming and
// removing are plain forms of the account page (no script needed);
// creating one needs the script, which posts the new credential to the
// JSON API (POST /v1/account/passkeys) and then reloads the page.
//
// Without JavaScript, or in a browser without PublicKeyCredential, the
// passkey buttons stay hidden and every other way in works as before.

// passkeyCapableField is the hidden form field passkey.js sets to "1"
// where the browser has WebAuthn: only there is a passkey offered after
// a sign-in.
const passkeyCapableField = "passkey_capable"

// passkeysOn reports whether the pages offer passkeys (configured).
func (s *Server) passkeysOn() bool { return s.passkeys != nil }

// signinPasskey ends the passkey ceremony the page's script ran: the
// passwordless sign-in, or (with a flow) that flow's second factor. v is
// set to the step a refusal is shown on.
func (s *Server) signinPasskey(c *fiber.Ctx, v *signinView, cl authn.Client) (*authn.LoginResult, error) {
	if v.Flow != "" {
		v.Step, v.Method, v.Offered = "code", string(authn.MethodPasskey), formValue(c, "offered")
		v.Alternatives = alternativesTo(v.Method, v.Offered)
	} else {
		v.Step = "identifier"
	}
	return s.passkeys.FinishPasskeySignIn(c.UserContext(), authn.FinishPasskeyRequest{Handle: formValue(c, "ceremony"),
		Response: []byte(formValue(c, "credential")), Client: cl})
}

// passkeyOfferView is the sign-in page's "create a passkey?" step, shown
// once after a sign-in.
type passkeyOfferView struct {
	signinView
	// Done is where the browser goes next: the sign-in's safe return.
	Done string
}

// offerPasskey shows the offer to create a passkey after a sign-in on
// the page, once per account (the API's offer flag, recorded as made
// here), and only to a browser that can create one. shown is false when
// the caller goes on as usual.
func (s *Server) offerPasskey(c *fiber.Ctx, v signinView, res *authn.LoginResult, ret string) (shown bool, err error) {
	if !s.passkeysOn() || res.Session == nil || formValue(c, passkeyCapableField) != "1" {
		return false, nil
	}
	ctx, tok := c.UserContext(), res.Session.Token
	l, err := s.passkeys.ListPasskeys(ctx, tok)
	if err != nil || !l.Offer {
		// The offer is a nicety: a failure to read it never stands in the
		// way of the sign-in.
		return false, nil
	}
	if err := s.passkeys.DismissPasskeyOffer(ctx, tok); err != nil {
		return false, nil
	}
	csrf, err := pageCSRF(c)
	if err != nil {
		return true, err
	}
	v.Step, v.Passkey = "passkey_offer", true
	ov := passkeyOfferView{signinView: v, Done: ret}
	return true, s.render(c, http.StatusOK, page{Name: "signin", TitleID: "passkey_offer_title", State: v.Step, CSRF: csrf,
		Scripts: []string{"device.js", "passkey.js"}, V: ov})
}

// loadAccountPasskeys lists the caller's passkeys for the security page
// (nil when passkeys are off).
func (s *Server) loadAccountPasskeys(c *fiber.Ctx, tok string) (*authn.PasskeyList, error) {
	if !s.passkeysOn() {
		return nil, nil
	}
	return s.passkeys.ListPasskeys(c.UserContext(), tok)
}

// passkeyAccountAction runs a passkey form of the account page: rename
// or remove (removal rotates the session, whose new cookie is set).
// notice is the done= notice of the redirect.
func (s *Server) passkeyAccountAction(c *fiber.Ctx, tok, action string, cl authn.Client) (notice string, err error) {
	if !s.passkeysOn() {
		return "", &authn.Error{Code: authn.CodeNotFound, Message: "passkeys are not configured"}
	}
	ctx, id := c.UserContext(), formValue(c, "id")
	switch action {
	case "passkey_rename":
		return "passkey_renamed", s.passkeys.RenamePasskey(ctx, tok, id, formValue(c, "name"), cl)
	case "passkey_remove":
		rot, err := s.passkeys.RemovePasskey(ctx, authn.RemovePasskeyRequest{SessionToken: tok, ID: id, Client: cl})
		if err != nil {
			return "", err
		}
		setSessionCookie(c, rot.Session)
		return "passkey_removed", nil
	}
	return "", &authn.Error{Code: authn.CodeInvalidRequest, Message: "unknown passkey action"}
}
