package httpapi

import (
	"net/url"

	"github.com/gofiber/fiber/v2"
)

// The OpenID Connect login page is the hosted sign-in page: the flow in
// oidc_login.go (load the request, single sign-on, complete or deny)
// renders its steps with templates/signin.html here, so an application
// that signs its users in through the provider shows them the same,
// branded and translated page as /login.

// oidcMessages maps the OIDC flow's sentences to the catalogue.
var oidcMessages = map[string]string{
	msgRequestGone: "error_request_gone",
	"This application asks for a second factor, and none is set up for your account. Add an authenticator app first.": "error_aal_too_low",
	"The email address or password is wrong.":               "signin_failed",
	"That code is wrong or has expired.":                    "code_wrong",
	"This sign-in attempt has ended. Please sign in again.": "flow_ended",
}

// oidcMessageID is the catalogue id of msg; an unknown sentence shows as
// it is (page.T returns the id it does not know).
func oidcMessageID(msg string) string {
	if id, ok := oidcMessages[msg]; ok {
		return id
	}
	return msg
}

// renderOIDCLogin writes a step of the OIDC login with the sign-in
// template. formTo is the client's redirect URI (its origin joins
// form-action), empty on an error page.
func (s *Server) renderOIDCLogin(c *fiber.Ctx, status int, v oidcLoginView, formTo string) error {
	if v.State == "error" {
		return s.render(c, status, page{Name: "error", TitleID: "error_title", State: "error",
			V: struct{ Message, Back string }{oidcMessageID(v.Message), ""}})
	}
	sv := signinView{Step: "combined", Action: v.Action, Identifier: v.Identifier, Flow: v.Flow, Method: v.Method,
		OIDC: v.ID, Client: v.Client, Restart: "", formTo: sourceOf(formTo)}
	if v.Message != "" {
		sv.Message = oidcMessageID(v.Message)
	}
	if v.State == "code" {
		sv.Step = "code"
	}
	if v.ID != "" {
		// After the upstream sign-in, the login page completes the
		// authorization by single sign-on.
		sv.Upstream = s.upstreamLinks("/oidc/login?" + url.Values{"id": {v.ID}}.Encode())
	}
	return s.renderTo(c, status, page{Name: "signin", TitleID: "signin_title", State: v.State, CSRF: v.CSRF,
		Scripts: []string{"device.js"}, V: sv}, sv.formTo)
}
