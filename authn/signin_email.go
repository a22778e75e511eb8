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
// exists, and whether or not the mail cap silently held the mail back; so
// is the work (samework.go).
func (s *SignIn) RequestEmailCode(ctx context.Context, r FlowRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("email_code_request", err) }()
	fl, err := s.flowByHandle(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	base := baseState(fl.State)
	// second: the code follows a password (a step-up, or a held flow).
	second := base == stateSecond || base == stateHeld
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
	switch {
	case base == stateHeld:
		// The held password's evaluation got its outcome already: this
		// challenge is judged afresh, for a right password and a wrong
		// one alike.
		if st.evaluationID, err = s.heldEvaluation(ctx, fl, u, r.Client); err != nil {
			return nil, err
		}
	case !second:
		d, err := s.evaluateLogin(ctx, s.event(engine.KindLogin, u, fl.Identifier, r.Client))
		if err != nil {
			return nil, err
		}
		st.evaluationID, st.newDevice, decision = d.EvaluationID, newDevice(d), d.Action.String()
		// Who asks, for whoever opens the magic link elsewhere and is
		// asked to approve (signin_magic.go); kept for every flow alike.
		if err := s.clients.SaveFlowClient(ctx, FlowClient{FlowID: fl.ID, IP: ipString(r.Client), UserAgent: truncUA(r.Client.UserAgent),
			Location: location(d), At: now, ExpiresAt: fl.ExpiresAt}); err != nil {
			return nil, err
		}
	}
	// After a password, only a verified one earns a mailed code: the
	// flow of a wrong password (held) gets one bound to the flow and
	// mailed to nobody, like an unknown identifier's.
	uid := ""
	if u != nil && !u.Disabled && (!second || fl.PasswordVerified) {
		uid = u.ID
	}
	// One mechanism for every case (samework.go): the reservation against
	// the cap first, on the budget codeBudget names — a code after a
	// verified password is not held back by what anyone who types the
	// address can spend, so the owner of a held account is not locked
	// out that way —, then the tokens, then a mail on the queue. Unknown
	// identifiers, wrong passwords (held), and accounts over the cap get
	// a code too, bound to the flow, owned by nobody and mailed to
	// nobody: guesses then fail and run out exactly as for a mailed code,
	// and the work is the same.
	send := s.reserveMail(ctx, mail.KindLoginCode, codeBudget(fl, second, uid != ""), uid != "")
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
	to, rc, uid := fl.Identifier, s.requestContext(r.Client), ""
	if u != nil {
		to, uid = u.Email, u.ID
	}
	s.queueMail(send, mail.KindLoginCode, func() (mail.Message, error) {
		return s.render.LoginCode(to, mail.LoginCodeData{Code: code, Token: link, ExpiresIn: s.cfg.CodeTTL, Context: s.mailLocale(uid, rc)})
	})
	return &LoginResult{Status: LoginCodeSent, FlowID: r.FlowID, Methods: methods(fl.Methods), FlowExpiresAt: fl.ExpiresAt}, nil
}

// codeBudget is what the mail cap counts a login code against: the
// address for a first factor (anyone may ask, so the cap is what stops a
// flood), a budget of its own for codes after a verified password (only
// someone who knows the password can spend it, so strangers cannot use
// up the owner's codes), and the flow for a code mailed to nobody.
func codeBudget(fl LoginFlow, second, mailed bool) string {
	switch {
	case !second:
		return fl.Identifier
	case mailed:
		return "after-password\x00" + fl.Identifier
	}
	return "unmailed\x00" + fl.ID
}

// heldEvaluation judges a held flow's code request: an evaluation of kind
// mfa. A block fails the flow; its id is what the code's outcome will be
// reported against.
func (s *SignIn) heldEvaluation(ctx context.Context, fl LoginFlow, u *User, c Client) (string, error) {
	d, err := s.evaluate(ctx, s.event(engine.KindMFA, u, fl.Identifier, c))
	if err != nil {
		return "", err
	}
	if d.Action == risk.Block {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		st := flowStep(fl, "", u, FactorEmailCode, c)
		st.evaluationID = d.EvaluationID
		s.auditStep(secevent.LoginFailed, st, reasonRiskBlock)
		if _, err := s.flows.AdvanceFlow(ctx, fl.ID, FlowTransition{From: fl.State, To: stateFailed}, s.clock.Now()); err != nil && !errors.Is(err, ErrConflict) {
			return "", flowErr(err)
		}
		return "", errLoginFailed()
	}
	return d.EvaluationID, nil
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
	case base == stateHeld:
		// Whoever the flow is for (no account, a disabled one), the code
		// is checked: a held flow answers alike for everyone.
		if u, err = s.flowUser(ctx, fl); err != nil {
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
	vctx, span := startStep(ctx, spanSecondFactor)
	t, err := s.tokens.VerifyCode(vctx, TokenEmailCode, fl.ID, hashHex(h), s.clock.Now())
	endFactor(span, FactorEmailCode, err == nil && t.UserID != "", failure(err))
	switch {
	case err == nil && t.UserID != "":
	case err == nil, errors.Is(err, ErrTokenInvalid), errors.Is(err, ErrTooManyAttempts):
		dead := errors.Is(err, ErrTooManyAttempts)
		if base == stateSecond || base == stateHeld {
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
	switch base {
	case stateSecond:
		return s.secondFactorPassed(ctx, st)
	case stateHeld:
		return s.heldPassed(ctx, st)
	}
	return s.emailFirstFactorPassed(ctx, st)
}

// emailFirstFactorPassed: the inbox is proven by st's email code or magic
// link (so the address counts as verified). On an unverified account the
// inbox alone claims it: what the registrant set before (password, app,
// recovery codes, sessions) is dropped first (claim.go). A low-risk
// sign-in without an authenticator app ends here at AAL1; otherwise the
// authenticator app, or the password, follows.
func (s *SignIn) emailFirstFactorPassed(ctx context.Context, st step) (*LoginResult, error) {
	u := st.user
	if u.EmailVerifiedAt.IsZero() {
		st.claim = claimInbox
		if err := s.dropCredentials(ctx, u, st.client); err != nil {
			return nil, err
		}
		if err := s.verify(ctx, u, st.client); err != nil {
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

// heldPassed: the code of a held flow passed, so the flow's password was
// right (only such a flow is mailed a code) and the inbox is proven. An
// account with an authenticator app still needs it (an AAL2 session, as
// after any password); otherwise the session is issued, at AAL1 like an
// email step-up. The count of wrong passwords is left to age out: the
// owner getting in does not reopen the account to guessing.
func (s *SignIn) heldPassed(ctx context.Context, st step) (*LoginResult, error) {
	if !st.flow.PasswordVerified {
		return nil, s.secondFactorFailed(ctx, st)
	}
	// The right password and the inbox: an unverified address is proven.
	if st.user.EmailVerifiedAt.IsZero() {
		st.claim = claimInboxAndPassword
	}
	if err := s.verify(ctx, st.user, st.client); err != nil {
		return nil, err
	}
	mfa, err := s.hasTOTP(ctx, st.user.ID)
	if err != nil {
		return nil, err
	}
	if !mfa {
		return s.secondFactorPassed(ctx, st)
	}
	s.recordAttempt(ctx, st.user, attempt{factor: FactorEmailCode, success: true, client: st.client})
	next := []Method{MethodTOTP, MethodRecoveryCode}
	s.auditStep(secevent.StepUpPassed, st, "")
	s.auditSecondFactor(st, next)
	return s.toStep(ctx, st, stateSecond, next, true)
}
