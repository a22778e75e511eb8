package authn

import (
	"context"
	"errors"
	"slices"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// RequestEmailCode mails a one-time code (and, as a first factor, a magic
// link) for the flow. The answer is the same whether or not the account
// exists, and whether or not the per-account send limit silently held the
// mail back; so is the work (samework.go).
func (s *SignIn) RequestEmailCode(ctx context.Context, r FlowRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("email_code_request", err) }()
	fl, err := s.flowByHandle(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	base := baseState(fl.State)
	second := base == stateSecond
	switch {
	case base == stateStarted:
	case base == stateCodeSent:
		if wait := fl.UpdatedAt.Add(s.cfg.CodeResendInterval).Sub(now); wait > 0 {
			return nil, errRateLimited(wait)
		}
	case second && slices.Contains(fl.Methods, string(MethodEmailCode)):
	default:
		return nil, newErr(CodeInvalidStep, "an email code is not offered now")
	}
	u, err := s.flowUser(ctx, fl)
	if err != nil {
		return nil, err
	}
	st, decision := flowStep(fl, r.FlowID, u, FactorEmailCode, r.Client), fl.Decision
	if !second {
		d, err := s.evaluateLogin(ctx, s.event(engine.KindLogin, u, fl.Identifier, r.Client))
		if err != nil {
			return nil, err
		}
		st.evaluationID, st.newDevice, decision = d.EvaluationID, newDevice(d), d.Action.String()
	}
	uid := ""
	if u != nil && !u.Disabled {
		uid = u.ID
	}
	send, err := s.mayMail(ctx, uid, TokenEmailCode)
	if err != nil {
		return nil, err
	}
	// Unknown identifiers, and accounts over the send limit, get a code
	// too, bound to the flow, owned by nobody and mailed to nobody:
	// guesses then fail and run out exactly as for a mailed code, and the
	// work is the same.
	var code, link string
	if code, err = token.NewCode(s.cfg.CodeDigits); err != nil {
		return nil, err
	}
	if err := s.issueCode(ctx, fl.ID, owner(send, uid), code); err != nil {
		return nil, err
	}
	if !second {
		if link, err = token.New(); err != nil {
			return nil, err
		}
		if err := s.tokens.IssueToken(ctx, OneTimeToken{ID: newID(), Kind: TokenMagicLink, Hash: tokenHash(link),
			UserID: owner(send, uid), FlowID: fl.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL)}); err != nil {
			return nil, err
		}
	}
	next := fl.State
	if !second {
		next = st.state(stateCodeSent)
	}
	if _, err := s.flows.AdvanceFlow(ctx, fl.ID, FlowTransition{From: fl.State, To: next, EvaluationID: st.evaluationID, Decision: decision}, now); err != nil {
		return nil, flowErr(err)
	}
	to, rc := fl.Identifier, s.requestContext(r.Client)
	if u != nil {
		to = u.Email
	}
	s.sendIf(send, mail.KindLoginCode, func() (mail.Message, error) {
		return s.render.LoginCode(to, mail.LoginCodeData{Code: code, Token: link, ExpiresIn: s.cfg.CodeTTL, Context: rc})
	})
	return &LoginResult{Status: LoginCodeSent, FlowID: r.FlowID, Methods: methods(fl.Methods), FlowExpiresAt: fl.ExpiresAt}, nil
}

func (s *SignIn) issueCode(ctx context.Context, flowID, userID, code string) error {
	h, err := token.HashCode(s.codeKey, flowID, code)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	return s.tokens.IssueToken(ctx, OneTimeToken{ID: newID(), Kind: TokenEmailCode, Hash: hashHex(h), UserID: userID,
		FlowID: flowID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL), MaxAttempts: s.cfg.CodeMaxAttempts})
}

// SubmitEmailCode presents the mailed code: as the first factor after
// RequestEmailCode, or as the step-up challenge of an account without an
// authenticator app.
func (s *SignIn) SubmitEmailCode(ctx context.Context, r CodeRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("email_code", err) }()
	fl, err := s.flowByHandle(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	base := baseState(fl.State)
	var u *User
	switch {
	case base == stateCodeSent:
		if u, err = s.flowUser(ctx, fl); err != nil {
			return nil, err
		}
	case base == stateSecond:
		if u, err = s.secondFactorUser(ctx, fl, MethodEmailCode); err != nil {
			return nil, err
		}
	default:
		return nil, newErr(CodeInvalidStep, "no code was requested")
	}
	st := flowStep(fl, r.FlowID, u, FactorEmailCode, r.Client)
	// Whatever was typed goes to the store, so malformed guesses count
	// against the attempt limit like wrong ones.
	h, err := token.HashCode(s.codeKey, fl.ID, r.Code)
	if err != nil {
		return nil, err
	}
	t, err := s.tokens.VerifyCode(ctx, TokenEmailCode, fl.ID, hashHex(h), s.clock.Now())
	switch {
	case err == nil && t.UserID != "":
	case err == nil, errors.Is(err, ErrTokenInvalid), errors.Is(err, ErrTooManyAttempts):
		dead := errors.Is(err, ErrTooManyAttempts)
		if base == stateSecond {
			ferr := s.secondFactorFailed(ctx, st)
			if dead && CodeOf(ferr) == CodeInvalidCode {
				return nil, newErr(CodeTooManyAttempts, "too many wrong codes; request a new one")
			}
			return nil, ferr
		}
		s.recordAttempt(ctx, u, attempt{factor: FactorEmailCode, success: false, client: r.Client})
		s.auditStep(secevent.LoginFailed, st, codeFailure(dead))
		if dead {
			// The whole challenge failed: that is the evaluation's outcome.
			s.outcome(ctx, fl.EvaluationID, engine.OutcomeFailure)
			return nil, newErr(CodeTooManyAttempts, "too many wrong codes; request a new one")
		}
		return nil, errInvalidCode()
	default:
		return nil, err
	}
	if u == nil || u.ID != t.UserID || u.Disabled {
		return nil, errLoginFailed()
	}
	if base == stateSecond {
		return s.secondFactorPassed(ctx, st)
	}
	return s.emailFirstFactorPassed(ctx, st)
}

// ConsumeMagicLink redeems a magic link. It completes the flow that asked
// for it, in whichever browser opened the link; when a second factor is
// needed the answer carries a new flow handle for this browser.
func (s *SignIn) ConsumeMagicLink(ctx context.Context, r MagicLinkRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("magic_link", err) }()
	if !token.Valid(r.Token) {
		return nil, errInvalidToken()
	}
	t, err := s.tokens.ConsumeToken(ctx, TokenMagicLink, tokenHash(r.Token), s.clock.Now())
	if errors.Is(err, ErrTokenInvalid) {
		return nil, errInvalidToken()
	}
	if err != nil {
		return nil, err
	}
	if t.UserID == "" || t.FlowID == "" {
		return nil, errInvalidToken()
	}
	fl, err := s.flows.FlowByID(ctx, t.FlowID, s.clock.Now())
	if err != nil {
		return nil, flowErr(err)
	}
	if baseState(fl.State) != stateCodeSent {
		return nil, errFlowExpired()
	}
	u, err := s.flowUser(ctx, fl)
	if err != nil {
		return nil, err
	}
	if u == nil || u.ID != t.UserID || u.Disabled {
		return nil, errLoginFailed()
	}
	return s.emailFirstFactorPassed(ctx, flowStep(fl, "", u, FactorMagicLink, r.Client))
}

// emailFirstFactorPassed: the inbox is proven by st's email code or magic
// link (so the address counts as verified). A low-risk sign-in without an
// authenticator app ends here at AAL1; otherwise the authenticator app,
// or the password, follows.
func (s *SignIn) emailFirstFactorPassed(ctx context.Context, st step) (*LoginResult, error) {
	u := st.user
	if u.EmailVerifiedAt.IsZero() {
		if err := s.users.MarkEmailVerified(ctx, u.ID, s.clock.Now()); err != nil {
			return nil, err
		}
	}
	mfa, err := s.hasTOTP(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if st.flow.Decision == risk.Passwordless.String() && !mfa {
		st.aal, st.outcome = AAL1, engine.OutcomeSuccess
		return s.complete(ctx, st)
	}
	s.recordAttempt(ctx, u, attempt{factor: st.factor, success: true, client: st.client})
	second := []Method{MethodPassword}
	if mfa {
		second = []Method{MethodTOTP, MethodRecoveryCode}
	}
	return s.toSecondFactor(ctx, st, second)
}
