package authn

import (
	"context"
	"errors"
	"strings"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// Flow states. A "+nd" suffix remembers that the risk decision saw a new
// device for a returning user, so the notification goes out when the flow
// completes rather than when the first factor passed.
const (
	stateStarted  = "started"
	stateCodeSent = "code_sent"
	stateSecond   = "second_factor"
	// stateHeld: a password was presented while its identifier was past
	// the account threshold; the flow asks for an email code before
	// anything shows whether the password was right. PasswordVerified
	// records that it was (and only such a flow mails a code or can
	// complete); the client cannot tell the two apart.
	stateHeld    = "held"
	stateDone    = "done"
	stateFailed  = "failed"
	newDevSuffix = "+nd"
)

// step is one step of a sign-in on its way through the helpers: where it
// stands (the flow and the client's handle of it), who asks, and — once a
// factor passed — which one and what the risk engine said. complete and
// toSecondFactor take it instead of long positional parameter lists;
// every field is named where it is set.
type step struct {
	// flow is nil for a one-shot sign-in. handle is the client's handle of
	// flow; "" when there is no flow, or when the client asking is not
	// the one that holds it (a magic link opened in another browser).
	flow   *LoginFlow
	handle string
	// user is nil for an unknown identifier; identifier is the normalised
	// one the sign-in started with.
	user       *User
	identifier string
	client     Client
	// factor is the factor presented in this step; device is the engine's
	// device key, "" until an evaluation of this step names it.
	factor Factor
	device string
	// evaluationID is the risk evaluation the step reports its outcome
	// to. newDevice: that evaluation saw a returning user on a device it
	// did not know; the flow carries the mark until it completes, when the
	// notification goes out.
	evaluationID string
	newDevice    bool
	// aal and outcome are what complete issues and reports.
	aal     AAL
	outcome engine.Outcome
	// held: the step belongs to a held flow (a password presented past
	// the account threshold); claim: the step proved the inbox of an
	// unverified account (claimInbox, claimInboxAndPassword). Both only
	// annotate the audit trail.
	held  bool
	claim string
}

// flowStep is the step that continues the flow fl for the account u with
// factor f: the flow's identifier, latest evaluation and new-device mark
// carry over. handle is the client's handle of fl ("" when unknown here).
func flowStep(fl LoginFlow, handle string, u *User, f Factor, c Client) step {
	return step{flow: &fl, handle: handle, user: u, identifier: fl.Identifier, client: c, factor: f,
		evaluationID: fl.EvaluationID, newDevice: isND(fl.State), held: baseState(fl.State) == stateHeld}
}

// state is base with the new-device mark when the step carries one.
func (st step) state(base string) string {
	if st.newDevice {
		return base + newDevSuffix
	}
	return base
}

func baseState(s string) string { return strings.TrimSuffix(s, newDevSuffix) }

func isND(s string) bool { return strings.HasSuffix(s, newDevSuffix) }

// complete ends the step's flow with a session at st.aal, reporting
// st.outcome — unless a required purpose waits for the account's consent
// (toConsent, consent_signin.go). The flow's compare-and-set comes first, so of concurrent
// completions of one flow exactly one gets a session.
func (s *SignIn) complete(ctx context.Context, st step) (*LoginResult, error) {
	pending, err := s.pendingConsents(ctx, st.user.ID)
	if err != nil {
		return nil, err
	}
	if len(pending) > 0 {
		return s.toConsent(ctx, st, pending)
	}
	if due, err := s.enrolmentDue(ctx, st); err != nil {
		return nil, err
	} else if due {
		return s.toEnrolMFA(ctx, st)
	}
	if st.flow != nil {
		if _, err := s.flows.AdvanceFlow(ctx, st.flow.ID, FlowTransition{From: st.flow.State, To: stateDone}, s.clock.Now()); err != nil {
			return nil, flowErr(err)
		}
	}
	dev := st.device
	p := s.outcome(ctx, st.evaluationID, st.outcome)
	if p != nil && dev == "" {
		dev = p.Keys.Device
	}
	if st.factor != FactorPassword {
		s.recordAttempt(ctx, st.user, attempt{factor: st.factor, success: true, client: st.client, device: dev})
	}
	is, err := s.issueSession(ctx, st.user, st.aal, st.client, dev)
	if err != nil {
		return nil, err
	}
	s.auditStepSignedIn(st, is, dev)
	s.signInActivity(ctx, st.user, st.client, st.factor, st.outcome, stepDecision(st), is, st.evaluationID, p, dev)
	s.cancelDeletionOnSignIn(ctx, st.user, st.client, is.ID)
	s.linkPending(ctx, st)
	if st.newDevice {
		s.notify(ctx, mail.KindNewDeviceSignIn, st.user.Email, st.client)
		s.emit(secevent.NewDevice, st.user, st.client, is.ID, map[string]string{"device_id": dev, "evaluation_id": st.evaluationID})
	}
	return &LoginResult{Status: LoginAuthenticated, Session: is}, nil
}

// toSecondFactor moves the step's flow to the second factor, offering
// second, and audits the request (step_up_requested). The flow records
// the decision as step_up (whatever the engine said, a second factor is
// now required) and whether the factor that passed was the password,
// which decides the session's AAL later.
func (s *SignIn) toSecondFactor(ctx context.Context, st step, second []Method) (*LoginResult, error) {
	s.auditSecondFactor(st, second)
	// An upstream sign-in is a first factor that passed, like a password
	// (signin_upstream.go).
	return s.toStep(ctx, st, stateSecond, second, st.factor == FactorPassword || st.factor == FactorUpstream)
}

// toStep moves the step's flow to the state base (stateSecond or
// stateHeld), offering methods; pwVerified is set on the flow when the
// password was verified. One-shot sign-in (no flow) and magic links
// (handle unknown here) continue in a new flow. The caller audits the
// step (toSecondFactor, or the held password's own event).
func (s *SignIn) toStep(ctx context.Context, st step, base string, methods []Method, pwVerified bool) (*LoginResult, error) {
	now := s.clock.Now()
	decision := risk.StepUp.String()
	if st.flow != nil && st.handle != "" {
		next, err := s.flows.AdvanceFlow(ctx, st.flow.ID, FlowTransition{From: st.flow.State, To: st.state(base),
			PasswordVerified: pwVerified, EvaluationID: st.evaluationID, Decision: decision, Methods: strs(methods)}, now)
		if err != nil {
			return nil, flowErr(err)
		}
		return &LoginResult{Status: LoginSecondFactor, FlowID: st.handle, Methods: methods, FlowExpiresAt: next.ExpiresAt}, nil
	}
	if st.flow != nil {
		// A magic link was opened: its flow handle is in another browser,
		// so this one continues in a new flow.
		if _, err := s.flows.AdvanceFlow(ctx, st.flow.ID, FlowTransition{From: st.flow.State, To: stateDone}, now); err != nil {
			return nil, flowErr(err)
		}
	}
	handle, err := token.New()
	if err != nil {
		return nil, err
	}
	nf := LoginFlow{ID: flowKey(handle), Identifier: st.identifier, EvaluationID: st.evaluationID, Decision: decision,
		Methods: strs(methods), State: st.state(base), CreatedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(s.cfg.FlowTTL), PasswordVerified: pwVerified}
	if st.user != nil {
		nf.UserID = st.user.ID
	}
	if err := s.flows.CreateFlow(ctx, nf); err != nil {
		return nil, err
	}
	return &LoginResult{Status: LoginSecondFactor, FlowID: handle, Methods: methods, FlowExpiresAt: nf.ExpiresAt}, nil
}

func flowErr(err error) error {
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		return errFlowExpired()
	}
	return err
}

// flowByHandle loads a live flow; finished flows are expired for the
// client, and failed (blocked) ones answer the generic refusal.
func (s *SignIn) flowByHandle(ctx context.Context, handle string) (LoginFlow, error) {
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
// The lookup runs for unknown identifiers too (and finds nothing), so the
// work does not tell them apart.
func (s *SignIn) flowUser(ctx context.Context, fl LoginFlow) (*User, error) {
	u, err := s.users.UserByID(ctx, fl.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}
