package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// tabTo presses Tab until the element with id has the focus (at most
// max presses), as a keyboard user moves through a page, and checks the
// focus is visible there. It fails when the element is never reached:
// not reachable by keyboard, or behind a trap.
func tabTo(t *testing.T, ctx context.Context, id string, max int) {
	t.Helper()
	for range max {
		if focused(t, ctx) == id {
			visible, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
				`(function(){var s = getComputedStyle(document.activeElement); return s.outlineStyle !== "none" && s.outlineWidth !== "0px";})()`))
			require.NoError(t, err)
			assert.True(t, visible, "the focus on #%s is visible", id)
			return
		}
		keys(t, ctx, kb.Tab)
	}
	t.Fatalf("#%s not reached with %d Tab presses (focus on #%s)", id, max, focused(t, ctx))
}

// consentsInBrowser drives the consent and privacy pages by keyboard in
// the shared Chromium, with axe-core on each page and state: the
// registration's purposes (a required one left unticked stops the form;
// submitted anyway it is the field error), the sign-in's consent step,
// the privacy page (agree, withdraw, the export behind the password) and
// the export link's landing.
func consentsInBrowser(t *testing.T, pb *pagesBrowser) {
	t.Helper()
	e := newEnvAuthn(t, httpapi.Config{}, "", withConsents)
	waitState := func(ctx context.Context, sel string) {
		t.Helper()
		waitFor(t, ctx, sel)
	}

	// Registration with the declared purposes.
	reg := pb.tab("en-US", true)
	require.NoError(t, chromedp.Do(reg, chromedp.Navigate(e.url+"/register"), state("register")))
	pb.check(reg, "register-consents")
	assert.Equal(t, "email", focused(t, reg))
	keys(t, reg, "kai@example.com")
	tabTo(t, reg, "password", 3)
	keys(t, reg, userPassword)
	tabTo(t, reg, "consent-terms", 4)
	keys(t, reg, " ")
	tabTo(t, reg, "submit", 10)
	keys(t, reg, kb.Enter)
	missing, err := chromedp.Run(reg, chromedp.Evaluate[bool](`document.getElementById("consent-privacy_policy").validity.valueMissing`))
	require.NoError(t, err)
	assert.True(t, missing, "the browser holds the form: a required purpose is unticked")
	// Submitted anyway (no browser validation): the field error.
	_, err = chromedp.Run(reg, chromedp.Evaluate[bool](`HTMLFormElement.prototype.submit.call(document.getElementById("form")); true`))
	require.NoError(t, err)
	waitState(reg, "#consent-privacy_policy-error")
	pb.check(reg, "register-consent-missing")
	require.NoError(t, chromedp.Do(reg, chromedp.Focus(chromedp.CSS("#password"))))
	keys(t, reg, userPassword)
	tabTo(t, reg, "consent-privacy_policy", 6)
	keys(t, reg, " ")
	tabTo(t, reg, "submit", 10)
	keys(t, reg, kb.Enter)
	waitState(reg, `body[data-state="register-sent"]`)

	// A sign-in held for the terms' new version: the consent step.
	const email = "kim-consent@example.com"
	e.browser().registerWith(email, allRequired)
	u, err := e.auth.store.UserByEmail(t.Context(), email)
	require.NoError(t, err)
	require.NoError(t, e.auth.store.AppendConsents(t.Context(), []authn.ConsentRecord{{ID: uuid.Must(uuid.NewV7()).String(),
		UserID: u.ID, Purpose: "terms", Version: 2, Action: authn.ConsentGrant, At: time.Now(), Source: authn.ConsentSourceAccount}}))
	ctx := pb.tab("en-US", true)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.url+"/login?return_to=%2Faccount%2Fprivacy"), state("identifier")))
	keys(t, ctx, email+kb.Enter)
	require.NoError(t, chromedp.Do(ctx, state("password")))
	keys(t, ctx, userPassword+kb.Enter)
	waitState(ctx, `body[data-state="consent"], body[data-state="code"]`)
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#code").length`)); n > 0 {
		keys(t, ctx, e.auth.code(t, email)+kb.Enter) // a new device: the emailed code first
		waitState(ctx, `body[data-state="consent"]`)
	}
	pb.check(ctx, "signin-consent")
	tabTo(t, ctx, "consent-terms", 6)
	keys(t, ctx, " ")
	tabTo(t, ctx, "submit", 4)
	keys(t, ctx, kb.Enter)
	waitState(ctx, `body[data-state="privacy"], body[data-state="passkey_offer"]`)
	if st, _ := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`body`), "data-state")); st.Value == "passkey_offer" {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.url+"/account/privacy"), state("privacy")))
	}

	// The privacy page, by keyboard: agree to an optional purpose,
	// withdraw it, ask for the export with the password.
	pb.axeOnly(ctx, "account-privacy")
	tabTo(t, ctx, "grant-marketing_email", 40)
	keys(t, ctx, kb.Enter)
	waitState(ctx, "#withdraw-marketing_email")
	assert.Contains(t, text(t, ctx, "#notice"), "your agreement is recorded")
	tabTo(t, ctx, "withdraw-marketing_email", 40)
	keys(t, ctx, kb.Enter)
	waitState(ctx, "#grant-marketing_email")
	tabTo(t, ctx, "export-password", 60)
	keys(t, ctx, userPassword+kb.Enter)
	waitFor(t, ctx, `body[data-state="privacy"]`)
	require.Eventually(t, func() bool {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("notice") || {}).textContent || ""`))
		return err == nil && strings.Contains(n, "We emailed you a link")
	}, 45*time.Second, 100*time.Millisecond, "the export is asked for")
	pb.axeOnly(ctx, "account-privacy-done")

	// The mailed link's landing: the button downloads (not clicked here:
	// the download is the JSON API's, tested without a browser).
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(e.auth.link(t, email, mail.KindDataExport)), state("export")))
	pb.check(ctx, "account-export")
	tabTo(t, ctx, "download", 6)
	r := e.browser().get("/account/export")
	assert.Equal(t, http.StatusBadRequest, r.status, "no token: the error page")
}
