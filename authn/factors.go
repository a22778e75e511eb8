package authn

import (
	"context"
	"errors"
	"slices"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/authn/totp"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// errReplayed marks an invalid_code answer caused by a TOTP step that was
// already used.
var errReplayed = &Error{Code: CodeInvalidCode, Message: "the code is not valid", Err: ErrReplay}

// verifyTOTP checks code against the user's active factor and burns its
// time step with the store's compare-and-set, so a code is accepted once,
// also under concurrent requests on several instances.
func (s *Service) verifyTOTP(ctx context.Context, u *User, code string) error {
	f, err := s.totps.ActiveTOTP(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return errInvalidCode()
	}
	if err != nil {
		return err
	}
	secret, err := s.sealer.Open(f.SealedSecret, seal.AssociatedData(u.ID, f.ID))
	if err != nil {
		return err
	}
	defer clear(secret)
	step, ok := totp.Validate(string(secret), code, s.clock.Now())
	if !ok {
		return errInvalidCode()
	}
	if err := s.totps.UseTOTPStep(ctx, f.ID, step); err != nil {
		if errors.Is(err, ErrReplay) {
			return errReplayed
		}
		if errors.Is(err, ErrNotFound) {
			return errInvalidCode()
		}
		return err
	}
	return nil
}

// verifyRecovery consumes a matching unused recovery code.
func (s *Service) verifyRecovery(ctx context.Context, u *User, code string) error {
	h, err := s.rhash.Hash(code)
	if err != nil {
		return errInvalidCode()
	}
	err = s.recovery.ConsumeRecoveryCode(ctx, u.ID, hashHex(h), s.clock.Now())
	if errors.Is(err, ErrNotFound) {
		return errInvalidCode()
	}
	return err
}

// SubmitTOTP presents an authenticator-app code as the second factor.
func (s *Service) SubmitTOTP(ctx context.Context, r CodeRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("totp", err) }()
	fl, err := s.flowByHandle(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	u, err := s.secondFactorUser(ctx, fl, MethodTOTP)
	if err != nil {
		return nil, err
	}
	// TOTP has a million codes, three of them valid at a time: an account
	// must not be guessable at full speed from many sources at once.
	wait, err := s.otpWait(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, errRateLimited(wait)
	}
	if err := s.verifyTOTP(ctx, u, r.Code); err != nil {
		if CodeOf(err) != CodeInvalidCode {
			return nil, err
		}
		return nil, s.secondFactorFailed(ctx, fl, u, FactorTOTP, r.Client, errors.Is(err, ErrReplay))
	}
	return s.secondFactorPassed(ctx, fl, u, FactorTOTP, r.Client)
}

// SubmitRecoveryCode presents a single-use recovery code as the second
// factor (when the authenticator app is lost).
func (s *Service) SubmitRecoveryCode(ctx context.Context, r CodeRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("recovery_code", err) }()
	fl, err := s.flowByHandle(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	u, err := s.secondFactorUser(ctx, fl, MethodRecoveryCode)
	if err != nil {
		return nil, err
	}
	if err := s.verifyRecovery(ctx, u, r.Code); err != nil {
		if CodeOf(err) != CodeInvalidCode {
			return nil, err
		}
		return nil, s.secondFactorFailed(ctx, fl, u, FactorRecovery, r.Client, false)
	}
	return s.secondFactorPassed(ctx, fl, u, FactorRecovery, r.Client)
}

// RequestEmailCode mails a one-time code (and, as a first factor, a magic
// link) for the flow. The answer is the same whether or not the account
// exists, and whether or not the per-account send limit silently held the
// mail back.
func (s *Service) RequestEmailCode(ctx context.Context, r FlowRequest) (res *LoginResult, err error) {
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
	evalID, decision, nd := fl.EvaluationID, fl.Decision, isND(fl.State)
	if !second {
		d, err := s.evaluateLogin(ctx, s.event(engine.KindLogin, u, fl.Identifier, r.Client))
		if err != nil {
			return nil, err
		}
		evalID, decision, nd = d.EvaluationID, d.Action.String(), newDevice(d)
	}
	uid := ""
	if u != nil && !u.Disabled {
		uid = u.ID
	}
	throttled := false
	if uid != "" {
		n, err := s.tokens.CountTokensSince(ctx, uid, TokenEmailCode, now.Add(-s.cfg.EmailSendWindow))
		if err != nil {
			return nil, err
		}
		throttled = n >= s.cfg.EmailSendLimit
	}
	var code, link string
	if !throttled {
		// Unknown identifiers get a code too, bound to the flow and mailed
		// to nobody: guesses then fail and run out exactly as for a real
		// account, and the database work is the same.
		if code, err = token.NewCode(s.cfg.CodeDigits); err != nil {
			return nil, err
		}
		if err := s.issueCode(ctx, fl.ID, uid, code); err != nil {
			return nil, err
		}
		if !second {
			if link, err = token.New(); err != nil {
				return nil, err
			}
			if err := s.tokens.IssueToken(ctx, OneTimeToken{ID: newID(), Kind: TokenMagicLink, Hash: tokenHash(link),
				UserID: uid, FlowID: fl.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.CodeTTL)}); err != nil {
				return nil, err
			}
		}
	}
	next := fl.State
	if !second {
		next = withND(stateCodeSent, nd)
	}
	if _, err := s.flows.AdvanceFlow(ctx, fl.ID, FlowTransition{From: fl.State, To: next, EvaluationID: evalID, Decision: decision}, now); err != nil {
		return nil, flowErr(err)
	}
	if uid != "" && !throttled {
		rc := s.requestContext(r.Client)
		s.send(mail.KindLoginCode, func() (mail.Message, error) {
			return s.render.LoginCode(u.Email, mail.LoginCodeData{Code: code, Token: link, ExpiresIn: s.cfg.CodeTTL, Context: rc})
		})
	}
	return &LoginResult{Status: LoginCodeSent, FlowID: r.FlowID, Methods: methods(fl.Methods), FlowExpiresAt: fl.ExpiresAt}, nil
}

func (s *Service) issueCode(ctx context.Context, flowID, userID, code string) error {
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
func (s *Service) SubmitEmailCode(ctx context.Context, r CodeRequest) (res *LoginResult, err error) {
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
			ferr := s.secondFactorFailed(ctx, fl, u, FactorEmailCode, r.Client, false)
			if dead && CodeOf(ferr) == CodeInvalidCode {
				return nil, newErr(CodeTooManyAttempts, "too many wrong codes; request a new one")
			}
			return nil, ferr
		}
		s.recordAttempt(ctx, u, FactorEmailCode, false, r.Client, "")
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
		return s.secondFactorPassed(ctx, fl, u, FactorEmailCode, r.Client)
	}
	return s.emailFirstFactorPassed(ctx, fl, r.FlowID, u, FactorEmailCode, r.Client)
}

// ConsumeMagicLink redeems a magic link. It completes the flow that asked
// for it, in whichever browser opened the link; when a second factor is
// needed the answer carries a new flow handle for this browser.
func (s *Service) ConsumeMagicLink(ctx context.Context, r MagicLinkRequest) (res *LoginResult, err error) {
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
	return s.emailFirstFactorPassed(ctx, fl, "", u, FactorMagicLink, r.Client)
}

// emailFirstFactorPassed: the inbox is proven (so the address counts as
// verified). A low-risk sign-in without an authenticator app ends here at
// AAL1; otherwise the authenticator app, or the password, follows.
func (s *Service) emailFirstFactorPassed(ctx context.Context, fl LoginFlow, handle string, u *User, f Factor, c Client) (*LoginResult, error) {
	if u.EmailVerifiedAt.IsZero() {
		if err := s.users.MarkEmailVerified(ctx, u.ID, s.clock.Now()); err != nil {
			return nil, err
		}
	}
	mfa, err := s.hasTOTP(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if fl.Decision == risk.Passwordless.String() && !mfa {
		return s.complete(ctx, &fl, u, AAL1, fl.EvaluationID, engine.OutcomeSuccess, c, "", f, isND(fl.State))
	}
	s.recordAttempt(ctx, u, f, true, c, "")
	second := []Method{MethodPassword}
	if mfa {
		second = []Method{MethodTOTP, MethodRecoveryCode}
	}
	return s.toSecondFactor(ctx, &fl, handle, u, fl.Identifier, fl.EvaluationID, risk.StepUp.String(), second, false, isND(fl.State))
}
