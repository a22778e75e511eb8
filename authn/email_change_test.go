package authn_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// TestEmailChangeRiskyStepsUp: the engine evaluates an email change
// (event email_change); a step_up decision (here: a device shared by
// several accounts) makes the current address approve the change too:
// the new address's link alone leaves it pending, the approval link then
// applies it. Links are single use and each works only for its kind.
func TestEmailChangeRiskyStepsUp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	shared := client("203.0.113.50", "shared-kiosk-cookie-0003")
	for _, e := range []string{"kiosk-a@example.com", "kiosk-b@example.com"} {
		_, err := f.svc.Register(ctx, authn.RegisterRequest{Email: e, Password: goodPassword, Client: shared})
		require.NoError(t, err)
	}
	const email, next = "risky-change@example.com", "risky-new@example.com"
	f.register(t, email)
	sess := f.login(t, email, home).Session
	self := f.svc.Services.SelfService

	res, err := self.ChangeEmail(ctx, authn.ChangeEmailRequest{SessionToken: sess.Token, NewEmail: next, Client: shared})
	require.NoError(t, err)
	require.True(t, res.ApprovalRequired, "a device used by many accounts: step-up")
	require.Equal(t, 1, f.events.count(secevent.EmailChangeRequested, ""))

	verify := f.lastToken(t, next, mail.KindEmailChange)
	approve := f.lastToken(t, email, mail.KindEmailChange)
	st, err := self.UndoEmailChange(ctx, authn.EmailLinkRequest{Token: verify, Client: shared})
	requireCode(t, err, authn.CodeInvalidToken)
	assert.Nil(t, st, "a confirm link does not undo")

	s, err := self.ConfirmEmailChange(ctx, authn.EmailLinkRequest{Token: verify, Client: shared})
	require.NoError(t, err)
	assert.Equal(t, authn.EmailChangePending, s, "waiting for the current address")
	u, err := f.store.UserByID(ctx, sess.UserID)
	require.NoError(t, err)
	assert.Equal(t, email, u.Email)

	s, err = self.ConfirmEmailChange(ctx, authn.EmailLinkRequest{Token: approve, Client: home})
	require.NoError(t, err)
	assert.Equal(t, authn.EmailChangeApplied, s)
	u, err = f.store.UserByID(ctx, sess.UserID)
	require.NoError(t, err)
	assert.Equal(t, next, u.Email)
	assert.Equal(t, 1, f.events.count(secevent.UserUpdated, u.ID))
	_, err = self.ConfirmEmailChange(ctx, authn.EmailLinkRequest{Token: approve, Client: home})
	requireCode(t, err, authn.CodeInvalidToken)
	assert.Len(t, f.mails(t, email, mail.KindEmailChanged), 1, "the old address can undo")

}
