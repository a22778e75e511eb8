package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
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
// Hardening: Referrer-Policy no-referrer (the token is in the URL), a
// Content-Security-Policy that allows only this page's own script and
// style by hash and connections to its own origin, no framing, and the
// token is dropped from the address bar and history as soon as the script
// has read it.

type pageKind int

const (
	pageMagicLink pageKind = iota
	pageVerifyEmail
	pageResetPassword
)

// pageText is what differs between the pages.
type pageText struct {
	Mode, Title, Intro, Button string
	NewPassword                bool
}

var pageTexts = map[pageKind]pageText{
	pageMagicLink:     {Mode: "magic", Title: "Sign in", Intro: "Press the button to finish signing in.", Button: "Sign in"},
	pageVerifyEmail:   {Mode: "verify", Title: "Confirm your email address", Intro: "Press the button to confirm this address.", Button: "Confirm"},
	pageResetPassword: {Mode: "reset", Title: "Choose a new password", Intro: "Enter a new password of at least 15 characters.", Button: "Set password", NewPassword: true},
}

const pageStyle = `body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}` +
	`button{font:inherit;padding:.5rem 1.25rem;cursor:pointer}input{font:inherit;width:100%;box-sizing:border-box;margin:.25rem 0 1rem;padding:.4rem}` +
	`#status{margin-top:1rem;font-weight:600}[hidden]{display:none}`

// pageScript is static: its hash goes into the Content-Security-Policy, so
// it must not depend on the request.
const pageScript = `(function () {
  "use strict";
  var body = document.body, mode = body.dataset.mode;
  var form = document.getElementById("form"), status = document.getElementById("status");
  var extra = document.getElementById("extra"), extraLabel = document.getElementById("extra-label"), extraInput = document.getElementById("extra-input");
  var token = new URLSearchParams(window.location.search).get("token") || "";
  history.replaceState(null, "", window.location.pathname);
  // step is the follow-up the answer asked for: a second factor after a
  // magic link, or the password to set after a verification link opened
  // away from the registering browser. base holds what it posts besides
  // the typed value.
  var step = {path: null, field: null, base: null, final: null};
  function say(text, state) { status.textContent = text; body.dataset.state = state; }
  if (!token) { form.hidden = true; say("This link is incomplete. Open the link from the mail again.", "error"); return; }
  function post(path, payload) {
    return fetch(path, {method: "POST", credentials: "same-origin", cache: "no-store",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(payload)})
      .then(function (r) { return r.json().then(function (j) { return {ok: r.ok, body: j}; }); });
  }
  var second = {
    totp: {path: "/v1/login/totp", field: "code", label: "Code from your authenticator app", type: "text"},
    recovery_code: {path: "/v1/login/recovery-code", field: "code", label: "Recovery code", type: "text"},
    password: {path: "/v1/login/password", field: "password", label: "Password", type: "password"},
    email_code: {path: "/v1/login/email-code/verify", field: "code", label: "Code from the mail we just sent", type: "text"}
  };
  function ask(next, label, type, text, state) {
    step = next;
    extraLabel.textContent = label; extraInput.type = type; extraInput.value = "";
    extraInput.autocomplete = type === "password" && next.field === "new_password" ? "new-password" : "one-time-code";
    extra.hidden = false;
    form.querySelector("button").disabled = false;
    say(text, state);
  }
  var deny = document.getElementById("deny");
  function done(r) {
    if (!r.ok) { say(r.body && r.body.error ? r.body.error.message : "Something went wrong.", "error"); form.querySelector("button").disabled = false; return; }
    var b = r.body;
    if (mode === "magic" && b.status === "approval_required") {
      // Opened away from the browser that asked: sign nobody in here,
      // say who asked, and let the owner approve or deny it.
      var a = b.approval || {}, who = a.device || "an unknown device";
      if (a.location) { who += " near " + a.location; }
      if (a.ip) { who += " (IP " + a.ip + ")"; }
      if (a.requested_at) { who += ", at " + new Date(a.requested_at).toLocaleString(); }
      step = {path: "/v1/login/magic-link/approve", field: null, base: {token: token}, final: "approved"};
      form.querySelector("button").textContent = "Approve";
      form.querySelector("button").disabled = false;
      deny.hidden = false;
      say("This link was opened on another device than the one that asked to sign in: " + who +
        ". Approve only if that was you, just now, on that device: it will be signed in, not this one.", "approval");
      return;
    }
    if (mode === "magic" && b.status === "second_factor_required") {
      var m = null;
      for (var i = 0; i < b.methods.length && !m; i++) { m = second[b.methods[i]] || null; }
      if (!m) { say("Finish signing in from the sign-in page.", "error"); return; }
      if (b.methods[0] === "email_code") { post("/v1/login/email-code", {flow_id: b.flow_id}); }
      ask({path: m.path, field: m.field, base: {flow_id: b.flow_id}}, m.label, m.type, "One more step.", "second-factor");
      return;
    }
    if (mode === "verify" && b.status === "set_password") {
      ask({path: "/v1/password/reset", field: "new_password", base: {token: b.password_token}, final: "password-set"},
        "Choose a password (at least 15 characters)", "password",
        "Your address is confirmed. It was registered from another browser or device, so anything set up there was removed: choose your password now.",
        "set-password");
      form.querySelector("button").textContent = "Set password";
      return;
    }
    form.hidden = true;
    if (step.final === "password-set") { say("Your password is set. Sign in with it.", "password-set"); }
    else if (step.final === "approved") { say("Approved: the sign-in goes on on the other device. You can close this tab.", "approved"); }
    else if (step.final === "denied") { say("Denied: nobody was signed in. If you did not ask to sign in, consider changing your password.", "denied"); }
    else if (mode === "magic") { say("You are signed in. You can close this tab.", "signed-in"); }
    else if (mode === "verify") { say("Your address is confirmed.", "verified"); }
    else { say("Your password is changed. Sign in with it.", "reset"); }
  }
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    form.querySelector("button").disabled = true;
    say("Working…", "busy");
    var p;
    if (step.path) { var pl = {}; for (var k in step.base) { pl[k] = step.base[k]; } if (step.field) { pl[step.field] = extraInput.value; } p = post(step.path, pl); }
    else if (mode === "magic") { p = post("/v1/login/magic-link", {token: token}); }
    else if (mode === "verify") { p = post("/v1/verify-email", {token: token}); }
    else { p = post("/v1/password/reset", {token: token, new_password: extraInput.value}); }
    p.then(done, function () { say("The server could not be reached.", "error"); form.querySelector("button").disabled = false; });
  });
  deny.addEventListener("click", function () {
    deny.disabled = true; form.querySelector("button").disabled = true;
    step = {path: null, field: null, base: null, final: "denied"};
    post("/v1/login/magic-link/deny", {token: token}).then(done, function () { say("The server could not be reached.", "error"); deny.disabled = false; });
  });
  body.dataset.state = "ready";
})();`

const pageTemplate = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>{{.Text.Title}}</title><style>{{.Style}}</style></head>
<body data-mode="{{.Text.Mode}}" data-state="loading">
<h1>{{.Text.Title}}</h1>
<p>{{.Text.Intro}}</p>
<form id="form" autocomplete="off">
<div id="extra"{{if not .Text.NewPassword}} hidden{{end}}><label id="extra-label" for="extra-input">New password</label>
<input id="extra-input" name="secret" type="password" autocomplete="new-password"></div>
<button id="submit" type="submit">{{.Text.Button}}</button>
<button id="deny" type="button" hidden>This was not me</button>
</form>
<p id="status" role="status"></p>
<noscript><p>This page needs JavaScript to finish: links are not used up by merely opening them.</p></noscript>
<script>{{.Script}}</script>
</body></html>
`

// pages are the rendered link pages and their security policy.
type pages struct {
	html map[pageKind][]byte
	csp  string
}

func newPages() (*pages, error) {
	t, err := template.New("page").Parse(pageTemplate)
	if err != nil {
		return nil, err
	}
	p := &pages{html: map[pageKind][]byte{}}
	for k, text := range pageTexts {
		var b bytes.Buffer
		if err := t.Execute(&b, struct {
			Text   pageText
			Style  template.CSS
			Script template.JS
		}{text, template.CSS(pageStyle), template.JS(pageScript)}); err != nil {
			return nil, fmt.Errorf("link page: %w", err)
		}
		p.html[k] = b.Bytes()
	}
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	p.csp = "default-src 'none'; script-src " + hash(pageScript) + "; style-src " + hash(pageStyle) +
		"; connect-src 'self'; img-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
	return p, nil
}

// linkPage serves one page; the token stays in the URL for the script.
func (s *Server) linkPage(k pageKind) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := &c.Response().Header
		h.Set("Content-Security-Policy", s.pages.csp)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
		return c.Status(http.StatusOK).Send(s.pages.html[k])
	}
}
