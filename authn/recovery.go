package authn

import (
	"context"
	"errors"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// Recovery is the forgotten-password flow: a mailed single-use link and a
// new password, for someone who cannot sign in. It never issues a
// session (the next sign-in still asks for the second factor), which is
// why it is not part of SignIn; it shares with Account only the core's
// password setting, which ends the other sessions and notifies.
type Recovery struct{ *core }

// PasswordResetRequest asks for a reset link.
type PasswordResetRequest struct {
	Email  string
	Client Client
}

// RequestPasswordReset mails a single-use reset link when the address has
// an account. The answer is always the same (nil, unless the address is
// malformed); an unknown or disabled address, a risk block or the mail cap
// silently send nothing, and every case does the same work (samework.go).
func (s *Recovery) RequestPasswordReset(ctx context.Context, r PasswordResetRequest) (err error) {
	defer func() { s.metrics.result("request_reset", err) }()
	email, u, err := s.lookup(ctx, r.Email)
	if err != nil {
		return err
	}
	d, err := s.evaluate(ctx, s.event(engine.KindPasswordReset, u, email, r.Client))
	if err != nil {
		return err
	}
	now := s.clock.Now()
	uid := ""
	if u != nil && !u.Disabled {
		uid = u.ID
	}
	mean := uid != ""
	if d.Action == risk.Block {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		mean = false
	}
	// One mechanism for every case (samework.go): the reservation against
	// the address's cap, a token, a mail on the queue.
	send := s.reserveMail(ctx, mail.KindPasswordReset, email, mean)
	tok, err := token.New()
	if err != nil {
		return err
	}
	// A token that is not sent belongs to nobody: it is stored, so the
	// database work is the same, and can never be redeemed.
	if err := s.tokens.IssueToken(ctx, OneTimeToken{ID: newID(), Kind: TokenPasswordReset, Hash: tokenHash(tok),
		UserID: owner(send, uid), CreatedAt: now, ExpiresAt: now.Add(s.cfg.ResetTTL)}); err != nil {
		return err
	}
	rc := s.requestContext(r.Client)
	s.queueMail(send, mail.KindPasswordReset, func() (mail.Message, error) {
		return s.render.PasswordReset(email, mail.LinkData{Token: tok, ExpiresIn: s.cfg.ResetTTL}, s.mailLocale(uid, rc))
	})
	return nil
}

// ResetPasswordRequest sets a new password with a reset link's token.
type ResetPasswordRequest struct {
	Token       string
	NewPassword string
	Client      Client
}

// ResetPassword sets the new password, ends every session and notifies
// the user. It never signs the user in: the next sign-in goes through the
// usual flow, second factor included, so a stolen mailbox alone does not
// bypass MFA. A new password that fails the policy leaves the link usable.
func (s *Recovery) ResetPassword(ctx context.Context, r ResetPasswordRequest) (err error) {
	defer func() { s.metrics.result("reset_password", err) }()
	if !token.Valid(r.Token) {
		return errInvalidToken()
	}
	h := tokenHash(r.Token)
	t, err := s.tokens.LiveToken(ctx, TokenPasswordReset, h, s.clock.Now())
	if errors.Is(err, ErrTokenInvalid) || err == nil && t.UserID == "" {
		return errInvalidToken()
	}
	if err != nil {
		return err
	}
	u, err := s.users.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return errInvalidToken()
	}
	if err != nil {
		return err
	}
	if err := s.checkResetPassword(ctx, &u, r.NewPassword); err != nil {
		return err
	}
	// Spend the token only now, after the policy passed; of concurrent
	// resets with one link exactly one gets here.
	if _, err := s.tokens.ConsumeToken(ctx, TokenPasswordReset, h, s.clock.Now()); err != nil {
		if errors.Is(err, ErrTokenInvalid) {
			return errInvalidToken()
		}
		return err
	}
	if u.EmailVerifiedAt.IsZero() {
		// The inbox alone claims an unverified account: nothing the
		// registrant set survives (claim.go).
		if err := s.dropCredentials(ctx, &u, r.Client); err != nil {
			return err
		}
	}
	if err := s.setPassword(ctx, &u, r.NewPassword, "", r.Client); err != nil {
		return err
	}
	if err := s.verify(ctx, &u, r.Client); err != nil {
		return err
	}
	s.emit(secevent.PasswordReset, &u, r.Client, "", nil)
	return nil
}

// checkResetPassword applies the policy to a reset's new password: an
// unverified account loses its factors in the reset (dropCredentials), so
// its password must meet the single-factor minimum.
func (s *Recovery) checkResetPassword(ctx context.Context, u *User, pw string) error {
	if u.EmailVerifiedAt.IsZero() {
		return policyErr(s.policy.Check(ctx, pw, password.PolicyInput{Email: u.Email}))
	}
	return s.checkNewPassword(ctx, u, pw)
}
