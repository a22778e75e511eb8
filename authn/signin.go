package authn

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// SignIn runs sign-in: one shot (Login) or identifier first (StartLogin,
// a first factor, and a second one when the risk decision or the account
// asks for it), with passwords, email codes, magic links, TOTP and
// recovery codes. Every path ends in a session or the one generic
// refusal. It is one service because its steps share one state machine,
// the login flow: each step reads the flow its predecessor advanced, and
// the answers must look alike whichever path an identifier takes.
type SignIn struct {
	*core
	// flows, clients, codeKey and bindKey are sign-in's alone: the login
	// flows and who started them, the key of email-code hashes and the
	// key of the browser bindings of flows (signin_magic.go).
	flows   FlowStore
	clients FlowClientStore
	codeKey []byte
	bindKey []byte
	// upstream, nil without upstream providers, links the identity a
	// completed flow was proving the account for (signin_upstream.go).
	upstream *Upstream
}

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
	// LoginApprovalRequired: a magic link was opened in another browser
	// than the one that asked for it. Nobody is signed in here; Approval
	// describes the waiting sign-in, for ApproveMagicLink or
	// DenyMagicLink.
	LoginApprovalRequired LoginStatus = "approval_required"
	// LoginApproved: the sign-in waiting on a magic link is approved; it
	// goes on in the browser that asked for it (PollLogin).
	LoginApproved LoginStatus = "approved"
	// LoginConsentRequired: the factors passed, but the account has not
	// accepted a required purpose at its current version (Consents lists
	// them); AcceptConsents on FlowID continues the sign-in.
	LoginConsentRequired LoginStatus = "consent_required"
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
	// Binding is set by StartLogin: the flow's browser binding, which
	// the HTTP layer gives the browser as a cookie so that a magic link
	// of this flow opened in the same browser signs it in.
	Binding string
	// Approval is set with LoginApprovalRequired.
	Approval *Approval
	// Consents are the purposes to accept, with LoginConsentRequired.
	Consents []PurposeState
	// RecoveryCodes are shown once, when a sign-in enrolled an app
	// (ConfirmLoginTOTP).
	RecoveryCodes []string
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

// MagicLinkRequest redeems the token of a magic link. FlowID and Binding
// say whether the client opening it is the one that asked for it: an app
// that receives the link presents the flow's handle, a browser its flow
// binding (the cookie set by StartLogin).
type MagicLinkRequest struct {
	Token   string
	FlowID  string
	Binding string
	Client  Client
}

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
func (s *SignIn) StartLogin(ctx context.Context, r StartLoginRequest) (res *LoginResult, err error) {
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
	return &LoginResult{Status: LoginChooseMethod, FlowID: handle, Methods: slices.Clone(firstFactors), FlowExpiresAt: fl.ExpiresAt,
		Binding: s.flowBinding(fl.ID)}, nil
}

// Login signs in with identifier and password in one step; the result is
// a session or a second-factor flow.
func (s *SignIn) Login(ctx context.Context, r LoginRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("login", err) }()
	email, u, err := s.lookup(ctx, r.Identifier)
	if err != nil {
		return nil, err
	}
	return s.passwordFirst(ctx, step{user: u, identifier: email, client: r.Client, factor: FactorPassword}, r.Password)
}

// SubmitPassword presents the password in a flow: as the first factor, or
// as the second after an email code.
func (s *SignIn) SubmitPassword(ctx context.Context, r PasswordRequest) (res *LoginResult, err error) {
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
		return s.passwordFirst(ctx, flowStep(fl, r.FlowID, u, FactorPassword, r.Client), r.Password)
	case stateSecond:
		u, err := s.secondFactorUser(ctx, fl, MethodPassword)
		if err != nil {
			return nil, err
		}
		st := flowStep(fl, r.FlowID, u, FactorPassword, r.Client)
		ok, err := s.checkPassword(ctx, u, r.Password)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, s.secondFactorFailed(ctx, st)
		}
		s.rehash(ctx, u, r.Password)
		return s.secondFactorPassed(ctx, st)
	}
	return nil, newErr(CodeInvalidStep, "a password is not expected now")
}

// passwordFirst is the password as first factor of st (a one-shot
// sign-in, or a flow at its first step). The engine decides before any
// hashing; a block costs no argon2id at all.
//
// Past the account threshold (held), right and wrong passwords get one
// answer: a held flow asking for an email code, after the same work (one
// argon2id, the attempt recorded as a failure, the count raised, one
// flow written). Only the flow of a right password mails a code and can
// complete, so the attacker learns nothing, and the owner, who reads the
// mail, still gets in. Unknown identifiers are counted and held alike.
func (s *SignIn) passwordFirst(ctx context.Context, st step, pw string) (*LoginResult, error) {
	u, c := st.user, st.client
	ev := s.event(engine.KindLogin, u, st.identifier, c)
	ev.Password = pw
	d, err := s.evaluateLogin(ctx, ev)
	if err != nil {
		return nil, err
	}
	dev := d.Keys.Device
	st.factor, st.device, st.evaluationID, st.newDevice = FactorPassword, dev, d.EvaluationID, newDevice(d)
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
	n, err := s.guesses(ctx, st.identifier)
	if err != nil {
		return nil, err
	}
	held := s.held(n)
	ok := false
	if wait > 0 {
		// Silent progressive delay: the same answer and the same cost as a
		// wrong password, without checking this one. A visible "wait" would
		// tell an attacker which identifiers have accounts.
		sctx, span := startStep(ctx, spanPassword)
		err := s.hasher.VerifyDummy(sctx, pw)
		endStep(span, err)
		if err != nil {
			return nil, hashErr(err)
		}
	} else if ok, err = s.checkPassword(ctx, u, pw); err != nil {
		return nil, err
	}
	switch {
	case held:
		if wait == 0 {
			s.recordAttempt(ctx, u, attempt{factor: FactorPassword, success: false, client: c, device: dev})
		}
		s.wrongPassword(ctx, st.identifier, n, u, c)
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		// One event, of one type, whatever the password: the sign-in
		// was refused for now (the engine was told a failure too), and
		// the reason tells the SOC whether the password was right.
		st.held = true
		s.auditHeld(st, passwordFailure(ok, held, wait > 0), []Method{MethodEmailCode})
		return s.toStep(ctx, st, stateHeld, []Method{MethodEmailCode}, ok)
	case wait > 0:
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		s.auditStep(secevent.LoginFailed, st, reasonSourceDelay)
		return nil, errLoginFailed()
	case !ok:
		s.recordAttempt(ctx, u, attempt{factor: FactorPassword, success: false, client: c, device: dev})
		s.wrongPassword(ctx, st.identifier, n, u, c)
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		s.auditStep(secevent.LoginFailed, st, reasonWrongPassword)
		return nil, errLoginFailed()
	}
	s.rehash(ctx, u, pw)
	s.recordAttempt(ctx, u, attempt{factor: FactorPassword, success: true, client: c, device: dev})
	s.rightPassword(ctx, st.identifier)
	if u.EmailVerifiedAt.IsZero() {
		// Whoever registered an address may not own it: before it is
		// proven, a password alone never signs in. The mailed code proves
		// the inbox too, and passing it verifies the address with the
		// password kept (claim.go).
		return s.toSecondFactor(ctx, st, []Method{MethodEmailCode})
	}
	mfa, err := s.hasTOTP(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	pk, err := s.hasPasskeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	// An account with a second factor (an app or a passkey) always uses
	// it after a password: that is what lets its password be as short as
	// the MFA minimum.
	if d.Action == risk.Passwordless && !mfa && !pk {
		st.aal, st.outcome = AAL1, engine.OutcomeSuccess
		return s.complete(ctx, st)
	}
	second := []Method{MethodEmailCode}
	if mfa {
		second = []Method{MethodTOTP, MethodRecoveryCode}
	}
	// A passkey, when the account has one, is offered first: the
	// strongest second factor (phishing-resistant, AAL2 by itself).
	if pk {
		second = append([]Method{MethodPasskey}, second...)
	}
	return s.toSecondFactor(ctx, st, second)
}

// rehash upgrades u's stored hash to the Hasher's current argon2id
// parameters after pw verified against it: the only moment the plaintext
// is at hand. Best effort: a failure is logged and the sign-in goes on
// with the old hash, which still verifies. The store swaps the hash only
// while it is still the one pw was checked against, so a password changed
// meanwhile is never overwritten with the old one.
func (s *SignIn) rehash(ctx context.Context, u *User, pw string) {
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
