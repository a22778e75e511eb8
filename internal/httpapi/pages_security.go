package httpapi

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// The security notifications (new device, password changed, factors
// changed) tell the user to review their account at the mail's security
// link, authn.mail_paths.security. A deployment whose apps have their own
// account page points that path there; by default it is /account/security,
// and this page answers it: what to do about a change one does not
// recognise, without any script or form, so it needs no session and
// leaks nothing. The account API (/v1/account/...) is what an app's own
// page calls.

const securityPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>Review your account security</title><style>` + pageStyle + `</style></head>
<body>
<h1>Review your account security</h1>
<p>We sent you this link because something changed on your account: a sign-in from a new device, a new password or a change of your second factor.</p>
<p><strong>If it was you</strong>, there is nothing to do.</p>
<p><strong>If it was not you</strong>:</p>
<ol>
<li>Sign in to the app you use with this account and open its account or security settings: review your devices and recent activity, forget the devices you do not know and mark any sign-in that was not you. This signs those sessions out.</li>
<li>Change your password there, or choose "Forgot password" on the sign-in screen to reset it by mail.</li>
<li>Turn on an authenticator app as a second factor if you have not yet.</li>
</ol>
<p>Never share the codes we mail you: we never ask for them.</p>
</body></html>
`

// pageStyle is the advice page's own style, allowed by hash.
const pageStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}`

// securityPageCSP allows nothing but the page's own style. Computed per
// request: the page is rarely opened, and no state is kept for it.
func securityPageCSP() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
}

// accountSecurityPage is the hosted account security page
// (pages_account.go) for a browser with a live session, and this
// advice, which needs none, for anyone else.
func (s *Server) accountSecurityPage(c *fiber.Ctx) error {
	if tok := c.Cookies(SessionCookie); tok != "" && s.self != nil && s.account != nil {
		if _, err := s.sessions.Authenticate(c.UserContext(), tok); err == nil {
			return s.renderAccount(c, http.StatusOK, tok, accountView{Section: "security", Notice: noticeID(c.Query("done"))})
		}
	}
	h := &c.Response().Header
	h.Set("Content-Security-Policy", securityPageCSP())
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(http.StatusOK).SendString(securityPage)
}
