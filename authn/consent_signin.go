package authn

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
)

// checkRegistrationConsents refuses a registration that leaves out a
// required purpose or names one badly, before any work: the answer is the
// same for a new and a taken address.
func (s *Registration) checkRegistrationConsents(choices []ConsentChoice) error {
	if s.self.consents == nil {
		return nil
	}
	problems := s.cfg.Account.checkChoices(choices, "consents")
	if len(problems) == 0 {
		problems = s.cfg.Account.missingRequired(choices, "consents")
	}
	if len(problems) > 0 {
		return &Error{Code: CodeInvalidRequest, Message: "the consents are not valid", Fields: problems}
	}
	return nil
}

// registrationConsents records the consents of a registration. For a
// taken address (owner "") the same read and insert run for nobody and
// fail on the missing user, so the two cost alike.
func (s *Registration) registrationConsents(ctx context.Context, owner string, u *User, r RegisterRequest) error {
	if s.self.consents == nil || len(r.Consents) == 0 {
		return nil
	}
	target := u
	if owner == "" {
		target = &User{}
	}
	err := s.grant(ctx, target, r.Consents, ConsentSourceRegistration, r.Client, "")
	if owner == "" && errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// stateConsent is the flow state of a sign-in whose factors passed but
// whose account has not accepted a required purpose at its current
// version. The rest of the state, after "|", is what complete needs once
// the consents are given: the session's AAL, the outcome to report and
// the factor that passed ("consent|2|step_up_passed|totp"). The flow's
// evaluation is the one whose outcome is still owed.
const stateConsent = "consent"

// consentState encodes st's pending completion as a flow state.
func consentState(st step) string {
	return st.state(strings.Join([]string{stateConsent, strconv.Itoa(int(st.aal)), string(st.outcome), string(st.factor)}, "|"))
}

// parseConsentState reads consentState's encoding back; ok is false for
// any other state.
func parseConsentState(state string) (aal AAL, o engine.Outcome, f Factor, ok bool) {
	parts := strings.Split(baseState(state), "|")
	if len(parts) != 4 || parts[0] != stateConsent {
		return 0, "", "", false
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || (AAL(n) != AAL1 && AAL(n) != AAL2) {
		return 0, "", "", false
	}
	return AAL(n), engine.Outcome(parts[2]), Factor(parts[3]), true
}

// toConsent holds the sign-in st, whose factors passed, until the
// pending required purposes are accepted (AcceptConsents): the flow moves
// to the consent state (a one-shot sign-in, or a flow whose handle this
// client does not hold, continues in a new flow) and the answer lists
// what to accept. No session exists yet and no outcome is reported.
func (s *SignIn) toConsent(ctx context.Context, st step, pending []PurposeState) (*LoginResult, error) {
	res, err := s.holdSignIn(ctx, st, consentState(st), LoginConsentRequired)
	if err != nil {
		return nil, err
	}
	res.Consents = pending
	return res, nil
}

// holdSignIn holds the sign-in st, whose factors passed, in state until
// the account does what status asks (accept consents, enrol an app): a
// flow this client holds moves to state; a one-shot sign-in, or a flow
// whose handle this client does not hold (a magic link), continues in a
// new flow. No session exists yet and no outcome is reported.
func (s *SignIn) holdSignIn(ctx context.Context, st step, state string, status LoginStatus) (*LoginResult, error) {
	now := s.clock.Now()
	decision := stepDecision(st)
	if st.flow != nil && st.handle != "" {
		next, err := s.flows.AdvanceFlow(ctx, st.flow.ID, FlowTransition{From: st.flow.State, To: state,
			EvaluationID: st.evaluationID, Decision: decision, Methods: []string{}}, now)
		if err != nil {
			return nil, flowErr(err)
		}
		return &LoginResult{Status: status, FlowID: st.handle, FlowExpiresAt: next.ExpiresAt}, nil
	}
	if st.flow != nil {
		if _, err := s.flows.AdvanceFlow(ctx, st.flow.ID, FlowTransition{From: st.flow.State, To: stateDone}, now); err != nil {
			return nil, flowErr(err)
		}
	}
	handle, err := token.New()
	if err != nil {
		return nil, err
	}
	nf := LoginFlow{ID: flowKey(handle), UserID: st.user.ID, Identifier: st.identifier, EvaluationID: st.evaluationID,
		Decision: decision, Methods: []string{}, State: state, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.cfg.FlowTTL),
		PasswordVerified: st.factor == FactorPassword || (st.flow != nil && st.flow.PasswordVerified)}
	if err := s.flows.CreateFlow(ctx, nf); err != nil {
		return nil, err
	}
	return &LoginResult{Status: status, FlowID: handle, FlowExpiresAt: nf.ExpiresAt}, nil
}

// AcceptConsentsRequest accepts the purposes a consent_required sign-in
// listed, and continues it.
type AcceptConsentsRequest struct {
	FlowID   string
	Consents []ConsentChoice
	Client   Client
}

// AcceptConsents records the consents of a sign-in held at the consent
// step (source sign_in) and completes it: the session is issued as it
// would have been. Every pending required purpose must be accepted at
// its current version, else CodeInvalidRequest naming what is missing
// (the flow waits on). A flow at another step is CodeInvalidStep.
func (s *SignIn) AcceptConsents(ctx context.Context, r AcceptConsentsRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("consent_accept", err) }()
	fl, err := s.flowByHandle(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	aal, o, f, ok := parseConsentState(fl.State)
	if !ok {
		return nil, newErr(CodeInvalidStep, "this sign-in is not waiting for consents")
	}
	u, err := s.flowUser(ctx, fl)
	if err != nil {
		return nil, err
	}
	if u == nil || u.Disabled {
		return nil, errLoginFailed()
	}
	problems := s.cfg.Account.checkChoices(r.Consents, "consents")
	if len(problems) == 0 {
		pending, err := s.pendingConsents(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		var missing []string
		for _, p := range pending {
			if !slices.ContainsFunc(r.Consents, func(c ConsentChoice) bool { return c.Purpose == p.Purpose.Name }) {
				missing = append(missing, p.Purpose.Name+" v"+strconv.Itoa(p.Current.Version))
			}
		}
		if len(missing) > 0 {
			problems = append(problems, engine.FieldError{Field: "consents", Message: "required: " + strings.Join(missing, ", ")})
		}
	}
	if len(problems) > 0 {
		return nil, &Error{Code: CodeInvalidRequest, Message: "the consents are not valid", Fields: problems}
	}
	if err := s.grant(ctx, u, r.Consents, ConsentSourceSignIn, r.Client, ""); err != nil {
		return nil, err
	}
	st := flowStep(fl, r.FlowID, u, f, r.Client)
	st.aal, st.outcome = aal, o
	return s.complete(ctx, st)
}

// Purposes are the declared purposes at their current versions, none
// granted: what a registration form or a sign-in's consent step shows.
// Nil when no consent ledger is kept (then none is asked for).
func (s *core) Purposes() []PurposeState {
	if s.self.consents == nil {
		return nil
	}
	return s.cfg.Account.states(nil)
}
