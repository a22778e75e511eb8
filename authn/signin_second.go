package authn

import (
	"context"
	"errors"
	"slices"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// SubmitTOTP presents an authenticator-app code as the second factor.
func (s *SignIn) SubmitTOTP(ctx context.Context, r CodeRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("totp", err) }()
	fl, err := s.flowByHandle(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	u, err := s.secondFactorUser(ctx, fl, MethodTOTP)
	if err != nil {
		return nil, err
	}
	st := flowStep(fl, r.FlowID, u, FactorTOTP, r.Client)
	// TOTP has a million codes, three of them valid at a time: an account
	// must not be guessable at full speed from many sources at once.
	wait, err := s.otpWait(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, errRateLimited(wait)
	}
	vctx, span := startStep(ctx, spanSecondFactor)
	err = s.verifyTOTP(vctx, u, r.Code)
	endFactor(span, FactorTOTP, err == nil, failure(err))
	if err != nil {
		if CodeOf(err) != CodeInvalidCode {
			return nil, err
		}
		if errors.Is(err, ErrReplay) {
			return nil, s.replayedCode(ctx, st)
		}
		return nil, s.secondFactorFailed(ctx, st)
	}
	return s.secondFactorPassed(ctx, st)
}

// SubmitRecoveryCode presents a single-use recovery code as the second
// factor (when the authenticator app is lost).
func (s *SignIn) SubmitRecoveryCode(ctx context.Context, r CodeRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("recovery_code", err) }()
	fl, err := s.flowByHandle(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	u, err := s.secondFactorUser(ctx, fl, MethodRecoveryCode)
	if err != nil {
		return nil, err
	}
	st := flowStep(fl, r.FlowID, u, FactorRecovery, r.Client)
	vctx, span := startStep(ctx, spanSecondFactor)
	err = s.verifyRecovery(vctx, u, r.Code)
	endFactor(span, FactorRecovery, err == nil, failure(err))
	if err != nil {
		if CodeOf(err) != CodeInvalidCode {
			return nil, err
		}
		return nil, s.secondFactorFailed(ctx, st)
	}
	return s.secondFactorPassed(ctx, st)
}

// secondFactorUser checks that the flow awaits a second factor and offers
// m, and returns its (enabled) account.
func (s *SignIn) secondFactorUser(ctx context.Context, fl LoginFlow, m Method) (*User, error) {
	if baseState(fl.State) != stateSecond || !slices.Contains(fl.Methods, string(m)) {
		return nil, newErr(CodeInvalidStep, "this method is not offered now")
	}
	u, err := s.flowUser(ctx, fl)
	if err != nil {
		return nil, err
	}
	if u == nil || u.Disabled {
		return nil, errLoginFailed()
	}
	return u, nil
}

// secondFactorPassed issues the session for st, whose second factor
// passed: AAL2 when a password was followed by an authenticator (TOTP or
// recovery code) or the factor was a passkey, AAL1 otherwise (email is not an AAL2 authenticator
// under NIST SP 800-63B rev 4).
func (s *SignIn) secondFactorPassed(ctx context.Context, st step) (*LoginResult, error) {
	claim := st.factor == FactorEmailCode && st.user.EmailVerifiedAt.IsZero()
	if claim {
		st.claim = claimInboxAndPassword
	}
	s.auditStep(secevent.StepUpPassed, st, "")
	if claim {
		// The code followed the right password: the inbox and the
		// password together, so the address is verified with what was
		// set at registration kept. An app enrolled before (by code that
		// did not yet refuse it) is still asked for.
		if err := s.verify(ctx, st.user, st.client); err != nil {
			return nil, err
		}
		mfa, err := s.hasTOTP(ctx, st.user.ID)
		if err != nil {
			return nil, err
		}
		if mfa {
			s.recordAttempt(ctx, st.user, attempt{factor: FactorEmailCode, success: true, client: st.client})
			next := []Method{MethodTOTP, MethodRecoveryCode}
			s.auditSecondFactor(st, next)
			return s.toStep(ctx, st, stateSecond, next, true)
		}
	}
	st.aal, st.outcome = AAL1, engine.OutcomeStepUpPassed
	// A passkey verified the user itself (a multi-factor cryptographic
	// authenticator): AAL2 whatever came before it.
	if st.flow.PasswordVerified && (st.factor == FactorTOTP || st.factor == FactorRecovery) || st.factor == FactorPasskey {
		st.aal = AAL2
	}
	res, err := s.complete(ctx, st)
	if err != nil {
		return nil, err
	}
	if st.factor == FactorRecovery {
		s.notifyMFA(ctx, st.user.Email, mail.MFAChangeData{Change: mail.MFARecoveryCodeUsed, Factor: "recovery code"}, st.client)
	}
	return res, nil
}

// secondFactorFailed reports a wrong second factor in st: the attempt,
// the step_up_failed outcome, a fresh evaluation for the next try (the
// engine takes one outcome per evaluation, and the new one sees the
// failure), and — when the password was right — a notification, since
// someone may know the password.
func (s *SignIn) secondFactorFailed(ctx context.Context, st step) error {
	fl, u, c := st.flow, st.user, st.client
	s.auditStep(secevent.SecondFactorFailed, st, wrongFactor(st.factor))
	s.outcome(ctx, fl.EvaluationID, engine.OutcomeStepUpFailed)
	d, err := s.evaluate(ctx, s.event(engine.KindMFA, u, fl.Identifier, c))
	if err != nil {
		return err
	}
	s.recordAttempt(ctx, u, attempt{factor: st.factor, success: false, client: c, device: d.Keys.Device})
	next := fl.State
	if d.Action == risk.Block {
		next = stateFailed
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
	}
	if _, err := s.flows.AdvanceFlow(ctx, fl.ID, FlowTransition{From: fl.State, To: next,
		EvaluationID: d.EvaluationID, Decision: d.Action.String()}, s.clock.Now()); err != nil && !errors.Is(err, ErrConflict) {
		return flowErr(err)
	}
	// A held flow tells nobody: the alert would be work only the flow of
	// a right password does, and the owner was mailed its code already.
	if fl.PasswordVerified && baseState(fl.State) != stateHeld {
		s.stepUpFailed(ctx, u, st.factor, c)
	}
	if next == stateFailed {
		return errLoginFailed()
	}
	return errInvalidCode()
}

// replayedCode answers a TOTP code whose time step was already used: it
// was right once, most likely a double submit, so it only counts as a
// failed attempt (no outcome, no new evaluation, no alert).
func (s *SignIn) replayedCode(ctx context.Context, st step) error {
	s.auditStep(secevent.SecondFactorFailed, st, reasonReplayedCode)
	s.recordAttempt(ctx, st.user, attempt{factor: st.factor, success: false, client: st.client})
	return errInvalidCode()
}
