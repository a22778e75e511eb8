package authn

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// Method is a way to prove identity that a flow offers.
type Method string

// Methods offered by sign-in flows.
const (
	MethodPassword     Method = "password"
	MethodEmailCode    Method = "email_code"
	MethodMagicLink    Method = "magic_link"
	MethodTOTP         Method = "totp"
	MethodRecoveryCode Method = "recovery_code"
)

// LoginStatus says what a sign-in step produced.
type LoginStatus string

// Sign-in statuses.
const (
	// LoginChooseMethod: the flow exists; pick a first factor from Methods.
	LoginChooseMethod LoginStatus = "choose_method"
	// LoginCodeSent: a code (and, for a first factor, a magic link) was
	// mailed if the account exists; the answer is the same when it does not.
	LoginCodeSent LoginStatus = "code_sent"
	// LoginSecondFactor: the first factor passed; a second one from
	// Methods is required before a session is issued.
	LoginSecondFactor LoginStatus = "second_factor_required"
	// LoginAuthenticated: Session holds the new session.
	LoginAuthenticated LoginStatus = "authenticated"
)

// LoginResult is the answer of every sign-in step.
type LoginResult struct {
	Status LoginStatus
	// FlowID is the handle for the next step (a bearer secret: keep it in
	// the client that started the flow). Empty once authenticated.
	FlowID        string
	Methods       []Method
	FlowExpiresAt time.Time
	Session       *IssuedSession
}

// StartLoginRequest begins identifier-first sign-in.
type StartLoginRequest struct {
	Identifier string
	Client     Client
}

// LoginRequest is a one-shot sign-in with identifier and password.
type LoginRequest struct {
	Identifier string
	Password   string
	Client     Client
}

// PasswordRequest submits a password to a flow.
type PasswordRequest struct {
	FlowID   string
	Password string
	Client   Client
}

// CodeRequest submits a code (email, TOTP or recovery) to a flow.
type CodeRequest struct {
	FlowID string
	Code   string
	Client Client
}

// FlowRequest asks a flow for something (an email code).
type FlowRequest struct {
	FlowID string
	Client Client
}

// MagicLinkRequest redeems the token of a magic link.
type MagicLinkRequest struct {
	Token  string
	Client Client
}

// Flow states. A "+nd" suffix remembers that the risk decision saw a new
// device for a returning user, so the notification goes out when the flow
// completes rather than when the first factor passed.
const (
	stateStarted  = "started"
	stateCodeSent = "code_sent"
	stateSecond   = "second_factor"
	stateDone     = "done"
	stateFailed   = "failed"
	newDevSuffix  = "+nd"
)

func withND(state string, nd bool) string {
	if nd {
		return state + newDevSuffix
	}
	return state
}

func baseState(s string) string { return strings.TrimSuffix(s, newDevSuffix) }
func isND(s string) bool        { return strings.HasSuffix(s, newDevSuffix) }

// firstFactors are offered to everyone, known or not, whatever the risk:
// the list must not tell who has an account, so the decision only shows
// after the first factor.
var firstFactors = []Method{MethodPassword, MethodEmailCode, MethodMagicLink}

func strs(ms []Method) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return out
}

func methods(ss []string) []Method {
	out := make([]Method, len(ss))
	for i, m := range ss {
		out[i] = Method(m)
	}
	return out
}

// newDevice: a returning user on a device the engine has not seen succeed
// for them.
func newDevice(d *engine.Decision) bool {
	f := d.Features
	return f != nil && f.User.Known && f.Device.Present && !f.Device.Known
}

// StartLogin creates an identifier-first flow. Known and unknown
// identifiers get the same answer; nothing is evaluated or checked yet, so
// the risk decision is taken when a factor is presented.
func (s *Service) StartLogin(ctx context.Context, r StartLoginRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("start_login", err) }()
	email, u, err := s.lookup(ctx, r.Identifier)
	if err != nil {
		return nil, err
	}
	handle, err := token.New()
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	fl := LoginFlow{ID: flowKey(handle), Identifier: email, Methods: strs(firstFactors), State: stateStarted,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.cfg.FlowTTL)}
	if u != nil {
		fl.UserID = u.ID
	}
	if err := s.flows.CreateFlow(ctx, fl); err != nil {
		return nil, err
	}
	return &LoginResult{Status: LoginChooseMethod, FlowID: handle, Methods: slices.Clone(firstFactors), FlowExpiresAt: fl.ExpiresAt}, nil
}

// Login signs in with identifier and password in one step; the result is
// a session or a second-factor flow.
func (s *Service) Login(ctx context.Context, r LoginRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("login", err) }()
	email, u, err := s.lookup(ctx, r.Identifier)
	if err != nil {
		return nil, err
	}
	return s.passwordFirst(ctx, nil, "", email, u, r.Password, r.Client)
}

// SubmitPassword presents the password in a flow: as the first factor, or
// as the second after an email code.
func (s *Service) SubmitPassword(ctx context.Context, r PasswordRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("password", err) }()
	fl, err := s.flowByHandle(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	switch baseState(fl.State) {
	case stateStarted, stateCodeSent:
		u, err := s.flowUser(ctx, fl)
		if err != nil {
			return nil, err
		}
		return s.passwordFirst(ctx, &fl, r.FlowID, fl.Identifier, u, r.Password, r.Client)
	case stateSecond:
		u, err := s.secondFactorUser(ctx, fl, MethodPassword)
		if err != nil {
			return nil, err
		}
		ok, err := s.checkPassword(ctx, u, r.Password)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, s.secondFactorFailed(ctx, fl, u, FactorPassword, r.Client, false)
		}
		s.rehash(ctx, u, r.Password)
		return s.secondFactorPassed(ctx, fl, u, FactorPassword, r.Client)
	}
	return nil, newErr(CodeInvalidStep, "a password is not expected now")
}

// passwordFirst is the password as first factor. The engine decides before
// any hashing; a block costs no argon2id at all. fl is nil for one-shot
// sign-in; otherwise handle is the client's handle of fl.
func (s *Service) passwordFirst(ctx context.Context, fl *LoginFlow, handle, email string, u *User, pw string, c Client) (*LoginResult, error) {
	ev := s.event(engine.KindLogin, u, email, c)
	ev.Password = pw
	d, err := s.evaluateLogin(ctx, ev)
	if err != nil {
		return nil, err
	}
	dev := d.Keys.Device
	uid := ""
	if u != nil {
		uid = u.ID
	}
	// The same queries run for unknown identifiers, so the database work
	// does not tell them apart either.
	wait, err := s.sourceWait(ctx, uid, c.IP, dev)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		// Silent progressive delay: the same answer and the same cost as a
		// wrong password, without checking this one. A visible "wait" would
		// tell an attacker which identifiers have accounts.
		if err := s.hasher.VerifyDummy(ctx, pw); err != nil {
			return nil, hashErr(err)
		}
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		return nil, errLoginFailed()
	}
	ok, err := s.checkPassword(ctx, u, pw)
	if err != nil {
		return nil, err
	}
	if !ok {
		if u != nil {
			s.recordAttempt(ctx, u, FactorPassword, false, c, dev)
			s.afterPasswordFailure(ctx, u, c)
		}
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		return nil, errLoginFailed()
	}
	s.rehash(ctx, u, pw)
	failures, err := s.passwordFailures(ctx, u)
	if err != nil {
		return nil, err
	}
	s.recordAttempt(ctx, u, FactorPassword, true, c, dev)
	mfa, err := s.hasTOTP(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	// An account with a second factor always uses it after a password:
	// that is what lets its password be as short as the MFA minimum.
	if d.Action == risk.Passwordless && !mfa && failures < s.cfg.Lockout.AccountStepUpAfter {
		return s.complete(ctx, fl, u, AAL1, d.EvaluationID, engine.OutcomeSuccess, c, dev, FactorPassword, newDevice(d))
	}
	second := []Method{MethodEmailCode}
	if mfa {
		second = []Method{MethodTOTP, MethodRecoveryCode}
	}
	return s.toSecondFactor(ctx, fl, handle, u, email, d.EvaluationID, risk.StepUp.String(), second, true, newDevice(d))
}

// checkPassword verifies pw for u, spending one argon2id verification
// whatever happens: unknown users, users without a password and disabled
// users cost the same as a wrong password.
func (s *Service) checkPassword(ctx context.Context, u *User, pw string) (bool, error) {
	if u == nil || u.PasswordHash == "" {
		return false, hashErr(s.hasher.VerifyDummy(ctx, pw))
	}
	ok, err := s.hasher.Verify(ctx, u.PasswordHash, pw)
	if err != nil {
		return false, hashErr(err)
	}
	return ok && !u.Disabled, nil
}

// rehash upgrades u's stored hash to the Hasher's current argon2id
// parameters after pw verified against it: the only moment the plaintext
// is at hand. Best effort: a failure is logged and the sign-in goes on
// with the old hash, which still verifies. The store swaps the hash only
// while it is still the one pw was checked against, so a password changed
// meanwhile is never overwritten with the old one.
func (s *Service) rehash(ctx context.Context, u *User, pw string) {
	if !s.hasher.NeedsRehash(u.PasswordHash) {
		return
	}
	phc, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		s.log.Warn("password rehash skipped", "user_id", u.ID, "err", err)
		return
	}
	err = s.users.ReplacePasswordHash(ctx, u.ID, u.PasswordHash, phc, s.clock.Now())
	switch {
	case errors.Is(err, ErrConflict):
		s.log.Info("password rehash skipped: the password changed meanwhile", "user_id", u.ID)
		return
	case err != nil:
		s.log.Warn("password rehash not stored", "user_id", u.ID, "err", err)
		return
	}
	u.PasswordHash = phc
	s.log.Info("password hash upgraded", "user_id", u.ID)
}

// afterPasswordFailure tells the SOC when an account crosses the step-up
// threshold (once per crossing, not on every later failure).
func (s *Service) afterPasswordFailure(ctx context.Context, u *User, c Client) {
	n, err := s.passwordFailures(ctx, u)
	if err != nil {
		s.log.Warn("failure count", "user_id", u.ID, "err", err)
		return
	}
	if n == s.cfg.Lockout.AccountStepUpAfter {
		s.emit(secevent.Lockout, u, c, "", map[string]string{"factor": string(FactorPassword), "effect": "step_up_required"})
	}
}

// passwordFailures counts u's password failures since its last correct
// password, within Lockout.AccountWindow.
func (s *Service) passwordFailures(ctx context.Context, u *User) (int, error) {
	return s.attempts.CountFailures(ctx, u.ID, FactorPassword, s.clock.Now().Add(-s.cfg.Lockout.AccountWindow))
}

// complete ends a flow with a session. The flow's compare-and-set comes
// first, so of concurrent completions of one flow exactly one gets a
// session.
func (s *Service) complete(ctx context.Context, fl *LoginFlow, u *User, aal AAL, evaluationID string, o engine.Outcome, c Client, dev string, factor Factor, nd bool) (*LoginResult, error) {
	if fl != nil {
		if _, err := s.flows.AdvanceFlow(ctx, fl.ID, FlowTransition{From: fl.State, To: stateDone}, s.clock.Now()); err != nil {
			return nil, flowErr(err)
		}
	}
	if p := s.outcome(ctx, evaluationID, o); p != nil && dev == "" {
		dev = p.Keys.Device
	}
	if factor != FactorPassword {
		s.recordAttempt(ctx, u, factor, true, c, dev)
	}
	is, err := s.issueSession(ctx, u, aal, c, dev)
	if err != nil {
		return nil, err
	}
	if nd {
		s.notify(mail.KindNewDeviceSignIn, u.Email, c)
		s.emit(secevent.NewDevice, u, c, is.ID, map[string]string{"device_id": dev, "evaluation_id": evaluationID})
	}
	return &LoginResult{Status: LoginAuthenticated, Session: is}, nil
}

// toSecondFactor moves fl, whose client handle is handle, to the
// second-factor step; one-shot sign-in (fl nil) and magic links (handle
// unknown here) continue in a new flow.
func (s *Service) toSecondFactor(ctx context.Context, fl *LoginFlow, handle string, u *User, email, evaluationID, decision string, second []Method, pwVerified, nd bool) (*LoginResult, error) {
	now := s.clock.Now()
	if fl != nil && handle != "" {
		next, err := s.flows.AdvanceFlow(ctx, fl.ID, FlowTransition{From: fl.State, To: withND(stateSecond, nd),
			PasswordVerified: pwVerified, EvaluationID: evaluationID, Decision: decision, Methods: strs(second)}, now)
		if err != nil {
			return nil, flowErr(err)
		}
		return &LoginResult{Status: LoginSecondFactor, FlowID: handle, Methods: second, FlowExpiresAt: next.ExpiresAt}, nil
	}
	if fl != nil {
		// A magic link was opened: its flow handle is in another browser,
		// so this one continues in a new flow.
		if _, err := s.flows.AdvanceFlow(ctx, fl.ID, FlowTransition{From: fl.State, To: stateDone}, now); err != nil {
			return nil, flowErr(err)
		}
	}
	handle, err := token.New()
	if err != nil {
		return nil, err
	}
	nf := LoginFlow{ID: flowKey(handle), UserID: u.ID, Identifier: email, EvaluationID: evaluationID, Decision: decision,
		Methods: strs(second), State: withND(stateSecond, nd), CreatedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(s.cfg.FlowTTL), PasswordVerified: pwVerified}
	if err := s.flows.CreateFlow(ctx, nf); err != nil {
		return nil, err
	}
	return &LoginResult{Status: LoginSecondFactor, FlowID: handle, Methods: second, FlowExpiresAt: nf.ExpiresAt}, nil
}

func flowErr(err error) error {
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return errFlowExpired()
	}
	return err
}

// flowByHandle loads a live flow; finished flows are expired for the
// client, and failed (blocked) ones answer the generic refusal.
func (s *Service) flowByHandle(ctx context.Context, handle string) (LoginFlow, error) {
	if !token.Valid(handle) {
		return LoginFlow{}, errFlowExpired()
	}
	fl, err := s.flows.FlowByID(ctx, flowKey(handle), s.clock.Now())
	if err != nil {
		return LoginFlow{}, flowErr(err)
	}
	switch baseState(fl.State) {
	case stateDone:
		return LoginFlow{}, errFlowExpired()
	case stateFailed:
		return LoginFlow{}, errLoginFailed()
	}
	return fl, nil
}

// flowUser returns the flow's account, nil when the identifier is unknown.
func (s *Service) flowUser(ctx context.Context, fl LoginFlow) (*User, error) {
	if fl.UserID == "" {
		return nil, nil
	}
	u, err := s.users.UserByID(ctx, fl.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// secondFactorUser checks that the flow awaits a second factor and offers
// m, and returns its (enabled) account.
func (s *Service) secondFactorUser(ctx context.Context, fl LoginFlow, m Method) (*User, error) {
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

// secondFactorPassed issues the session: AAL2 when a password was followed
// by an authenticator (TOTP or recovery code), AAL1 otherwise (email is
// not an AAL2 authenticator under NIST SP 800-63B rev 4).
func (s *Service) secondFactorPassed(ctx context.Context, fl LoginFlow, u *User, f Factor, c Client) (*LoginResult, error) {
	aal := AAL1
	if fl.PasswordVerified && (f == FactorTOTP || f == FactorRecovery) {
		aal = AAL2
	}
	res, err := s.complete(ctx, &fl, u, aal, fl.EvaluationID, engine.OutcomeStepUpPassed, c, "", f, isND(fl.State))
	if err != nil {
		return nil, err
	}
	if f == FactorRecovery {
		s.notifyMFA(u.Email, mail.MFARecoveryCodeUsed, "recovery code", c)
	}
	return res, nil
}

// secondFactorFailed reports a wrong second factor: the attempt, the
// step_up_failed outcome, a fresh evaluation for the next try (the engine
// takes one outcome per evaluation, and the new one sees the failure),
// and — when the password was right — a notification, since someone may
// know the password. A replayed TOTP code is only counted: it was right
// once, most likely a double submit.
func (s *Service) secondFactorFailed(ctx context.Context, fl LoginFlow, u *User, f Factor, c Client, replay bool) error {
	if replay {
		s.recordAttempt(ctx, u, f, false, c, "")
		return errInvalidCode()
	}
	s.outcome(ctx, fl.EvaluationID, engine.OutcomeStepUpFailed)
	d, err := s.evaluate(ctx, s.event(engine.KindMFA, u, "", c))
	if err != nil {
		return err
	}
	s.recordAttempt(ctx, u, f, false, c, d.Keys.Device)
	next := fl.State
	if d.Action == risk.Block {
		next = stateFailed
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
	}
	if _, err := s.flows.AdvanceFlow(ctx, fl.ID, FlowTransition{From: fl.State, To: next,
		EvaluationID: d.EvaluationID, Decision: d.Action.String()}, s.clock.Now()); err != nil && !errors.Is(err, ErrConflict) {
		return flowErr(err)
	}
	if fl.PasswordVerified {
		s.stepUpFailed(ctx, u, f, c)
	}
	if next == stateFailed {
		return errLoginFailed()
	}
	return errInvalidCode()
}

// stepUpFailed tells the SOC every time and the user at most once per
// StepUpMailInterval and factor.
func (s *Service) stepUpFailed(ctx context.Context, u *User, f Factor, c Client) {
	s.emit(secevent.StepUpFailed, u, c, "", map[string]string{"factor": string(f)})
	n, err := s.attempts.CountFailures(ctx, u.ID, f, s.clock.Now().Add(-s.cfg.StepUpMailInterval))
	if err != nil {
		s.log.Warn("failure count", "user_id", u.ID, "err", err)
		return
	}
	if n <= 1 {
		s.notify(mail.KindStepUpFailed, u.Email, c)
	}
}
