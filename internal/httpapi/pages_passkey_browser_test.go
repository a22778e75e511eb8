package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/httpapi"
)

// virtualAuthenticator gives the tab a platform authenticator of
// DevTools' WebAuthn domain: CTAP2, internal transport, discoverable
// credentials, user verification that succeeds.
func virtualAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	_, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{})
	require.NoError(t, err)
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	require.NoError(t, err)
	return res.AuthenticatorID
}

// noAutofill makes the tab's pages see a browser without conditional
// mediation (told before their scripts run), where the passkey button
// is the way in.
func noAutofill(t *testing.T, ctx context.Context) {
	t.Helper()
	_, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `PublicKeyCredential.isConditionalMediationAvailable = function () { return Promise.resolve(false); };`})
	require.NoError(t, err)
}

// waitFor waits for sel with a generous deadline and fails with what
// the page says.
func waitFor(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("no %s: %v; at %s the page says: %s", sel, err, loc, body)
	}
}

// sessionAAL is the AAL of the tab's session cookie, from the API.
func sessionAAL(t *testing.T, e *env, ctx context.Context) float64 {
	t.Helper()
	r := e.browser()
	for _, c := range cookies(t, ctx) {
		if c.Name == httpapi.SessionCookie {
			r.cookie = c.Value
		}
	}
	require.NotEmpty(t, r.cookie, "signed in")
	resp := r.get("/v1/session")
	require.Equal(t, http.StatusOK, resp.status, "%s", resp.body)
	aal, _ := resp.json(t)["aal"].(float64)
	return aal
}

// assertionProbe runs passwordless ceremonies from the page's own
// script context against the JSON API and answers the statuses of: the
// assertion sent once, then replayed (its ceremony is spent); an
// assertion for one ceremony sent as the answer to another (wrong
// challenge); and one whose client data claims another origin (its
// signature no longer matches, and the origin is not ours either).
const assertionProbe = `(async function () {
  const b64u = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const fromB64u = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
  const post = async (path, body) => (await fetch(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})).status;
  const begin = async () => (await fetch("/v1/login/passkey/begin", {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"})).json();
  const assert = async (c) => {
    const pk = c.options.publicKey;
    pk.challenge = fromB64u(pk.challenge);
    return (await navigator.credentials.get({publicKey: pk})).toJSON();
  };
  const out = {};
  let c = await begin(), a = await assert(c);
  out.first = await post("/v1/login/passkey", {ceremony: c.ceremony, credential: a});
  out.replayed = await post("/v1/login/passkey", {ceremony: c.ceremony, credential: a});
  const c1 = await begin(), c2 = await begin();
  a = await assert(c1);
  out.wrongChallenge = await post("/v1/login/passkey", {ceremony: c2.ceremony, credential: a});
  c = await begin(); a = await assert(c);
  const cd = JSON.parse(new TextDecoder().decode(fromB64u(a.response.clientDataJSON)));
  cd.origin = "https://evil.example";
  a.response.clientDataJSON = b64u(new TextEncoder().encode(JSON.stringify(cd)));
  out.wrongOrigin = await post("/v1/login/passkey", {ceremony: c.ceremony, credential: a});
  return out;
})()`

// passkeysInBrowser drives the passkey pages in the shared Chromium of
// TestHostedPagesInBrowser, with DevTools' virtual authenticator: a
// passkey registered from the account page, renamed, used to sign in
// without a password (autofill, then the button), to step up in a new
// browser that signs in with the password, then removed; assertions
// replayed or forged through the API are refused. The pages run on the
// localhost twin of the server's origin: a browser refuses an IP
// address as a relying party id.
func passkeysInBrowser(t *testing.T, pb *pagesBrowser, e *env) {
	t.Helper()
	const email = "pia@example.com"
	e.browser().register(email)
	lh := localhostOrigin(e.url)
	ctx := pb.tab("en-US", true)
	auth := virtualAuthenticator(t, ctx)
	click := func(ctx context.Context, sel, wait string) {
		t.Helper()
		// What is waited for must be on the next page: this one is
		// marked, and gone first.
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.dataset.stale = "1"; true`))
		require.NoError(t, err)
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel)), chromedp.WaitNotPresent(chromedp.CSS(`body[data-stale]`))))
		waitFor(t, ctx, wait)
	}
	// passwordSignIn signs in with the password on the page and answers
	// the state it ends in: the account, the offer of a passkey, or the
	// second-factor step (the emailed code is entered).
	passwordSignIn := func(ctx context.Context) string {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(lh+"/login"), state("identifier")))
		keys(t, ctx, email+kb.Enter)
		require.NoError(t, chromedp.Do(ctx, state("password")))
		keys(t, ctx, userPassword+kb.Enter)
		for {
			waitFor(t, ctx, `body[data-page="account"], body[data-state="passkey_offer"], body[data-state="code"]`)
			// A page still being parsed has its body but maybe not its form.
			_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.readyState !== "loading"`, chromedp.WithPollingTimeout(2*time.Minute)))
			require.NoError(t, err)
			st, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`body`), "data-state"))
			require.NoError(t, err)
			pg, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`body`), "data-page"))
			require.NoError(t, err)
			if pg.Value == "account" || st.Value == "passkey_offer" {
				return st.Value
			}
			if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#code").length`)); n == 0 {
				return "passkey" // the passkey step
			}
			// The code page stays in place until the answer replaces it:
			// mark it, so the next round reads the next page, not this one
			// (on a busy machine it answered "passkey" for a half-parsed
			// code page).
			_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`document.body.dataset.stale = "1"; true`))
			require.NoError(t, err)
			keys(t, ctx, e.auth.code(t, email)+kb.Enter)
			require.NoError(t, chromedp.Do(ctx, chromedp.WaitNotPresent(chromedp.CSS(`body[data-stale]`))))
		}
	}

	// The first sign-in with the password offers a passkey: not now.
	require.Equal(t, "passkey_offer", passwordSignIn(ctx), "a browser with WebAuthn is offered a passkey after the sign-in")
	click(ctx, "#passkey-not-now", `body[data-page="account"]`)

	// The account page: none yet; add one (named), then rename it.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(lh+"/account/security"), state("security")))
	waitFor(t, ctx, "#passkey-create")
	assert.Contains(t, text(t, ctx, "#passkeys-none"), "no passkey")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#passkey-new-name"), "Work laptop")))
	click(ctx, "#passkey-create", "#notice")
	assert.Contains(t, text(t, ctx, "#notice"), "passkey is created")
	assert.Equal(t, "Work laptop", text(t, ctx, "#passkeys .passkey-name"))
	creds, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth})
	require.NoError(t, err)
	require.Len(t, creds.Credentials, 1)
	assert.True(t, creds.Credentials[0].IsResidentCredential, "a discoverable credential")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#passkeys summary")),
		chromedp.SetValue(chromedp.CSS(`#passkeys input[name="name"]`), "Laptop")))
	click(ctx, "#passkeys .passkey-rename", "#notice")
	assert.Equal(t, "Laptop", text(t, ctx, "#passkeys .passkey-name"))
	pb.check(ctx, "account-security-passkeys")

	// Signed out, back in without a password. The identifier field's
	// autofill (conditional mediation) comes first: DevTools' virtual
	// authenticator answers a conditional request by itself, with its
	// one discoverable credential.
	click(ctx, "#logout", `body[data-state="identifier"], body[data-page="account"]`)
	waitFor(t, ctx, `body[data-page="account"]`)
	assert.Equal(t, float64(2), sessionAAL(t, e, ctx), "a passkey signs in at AAL2")
	// The button, in a browser without conditional mediation (the tab's
	// pages are told so before their scripts run): the same sign-in.
	noAutofill(t, ctx)
	click(ctx, "#logout", `body[data-state="identifier"]`)
	waitFor(t, ctx, "#passkey-signin")
	pb.check(ctx, "signin-passkey")
	click(ctx, "#passkey-signin", `body[data-page="account"]`)

	// Replayed and forged assertions, sent to the API from the page.
	probe, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](assertionProbe, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"first": 200, "replayed": 410, "wrongChallenge": 401, "wrongOrigin": 401}, probe)

	// Another browser holding the same (synced) passkey signs in with the
	// password: the engine asks a new device for a second factor, and the
	// passkey is offered first.
	other := pb.tab("en-US", true)
	oauth := virtualAuthenticator(t, other)
	noAutofill(t, other)
	// Copied as it is now: its counter has gone up with every use here.
	creds, err = chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: auth})
	require.NoError(t, err)
	cred := creds.Credentials[0]
	// By hand: cdproto's Credential always sends
	// generateCmtgKeyOnNextOperation, which this authenticator refuses.
	addCredential := cdp.Command[map[string]any, cdp.Empty]{Method: webauthn.CommandAddCredential}
	_, err = chromedp.Call(other, addCredential, map[string]any{"authenticatorId": oauth, "credential": map[string]any{
		"credentialId": cred.CredentialID, "isResidentCredential": true, "rpId": cred.RpID, "privateKey": cred.PrivateKey,
		"userHandle": cred.UserHandle, "signCount": cred.SignCount}})
	require.NoError(t, err)
	require.Equal(t, "passkey", passwordSignIn(other), "a new browser steps up with the passkey")
	pb.check(other, "signin-passkey-step-up")
	click(other, "#passkey-signin", `body[data-page="account"]`)
	assert.Equal(t, float64(2), sessionAAL(t, e, other), "the step-up reached AAL2")

	// Removed from the account page with the fresh session.
	require.NoError(t, chromedp.Do(other, chromedp.Navigate(lh+"/account/security"), state("security")))
	require.NoError(t, chromedp.Do(other, chromedp.Click(chromedp.CSS("#passkeys summary"))))
	click(other, "#passkeys .passkey-remove", "#notice")
	assert.Contains(t, text(t, other, "#notice"), "passkey is removed")
	waitFor(t, other, "#passkeys-none")
}
