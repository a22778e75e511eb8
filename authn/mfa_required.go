package authn

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
)

// Required actions: something the owner must do at the next sign-in
// before a session is issued (Keycloak's "required actions"). The one
// there is: enrol a second factor again after support removed the lost
// ones (Admin reset-mfa).

// ActionEnrolMFA is the required action set by an administrator's MFA
// reset: the next sign-in enrols an authenticator app before it ends.
const ActionEnrolMFA = "enrol_mfa"

// RequiredActionStore keeps the required actions of each user, deleted
// with the user. Optional: without it an MFA reset only removes factors.
type RequiredActionStore interface {
	// AddRequiredAction records action for the user (again: no change).
	AddRequiredAction(ctx context.Context, userID, action string, at time.Time) error
	// RequiredActions lists the user's pending actions.
	RequiredActions(ctx context.Context, userID string) ([]string, error)
	// RemoveRequiredAction clears action; none pending is not an error.
	RemoveRequiredAction(ctx context.Context, userID, action string) error
}

// LoginMFAEnrolmentRequired: the factors passed, but the account must
// enrol an authenticator app first (an administrator reset its factors):
// BeginLoginTOTP and ConfirmLoginTOTP on FlowID continue the sign-in.
const LoginMFAEnrolmentRequired LoginStatus = "mfa_enrolment_required"

// stateEnrolMFA is the flow state of a sign-in held for the enrolment;
// after "|" come the session's AAL, the outcome and the factor, as for
// the consent state.
const stateEnrolMFA = "enrol_mfa"

// enrolmentDue reports whether st's account must enrol a factor before
// this sign-in ends. An account that enrolled one meanwhile (in
// self-service) has the action cleared.
func (s *SignIn) enrolmentDue(ctx context.Context, st step) (bool, error) {
	if s.required == nil || st.user == nil {
		return false, nil
	}
	acts, err := s.required.RequiredActions(ctx, st.user.ID)
	if err != nil || !slices.Contains(acts, ActionEnrolMFA) {
		return false, err
	}
	// A passkey is a second factor too (and a stronger one).
	has, err := s.hasSecondFactor(ctx, st.user.ID)
	if err != nil {
		return false, err
	}
	if has {
		return false, s.required.RemoveRequiredAction(ctx, st.user.ID, ActionEnrolMFA)
	}
	return true, nil
}

// inboxProven reports whether this sign-in proved the account's inbox:
// an email code or magic link as the first factor, or a passed step-up
// (which, for an account without an app, was an email code). A password
// alone never enrols an authenticator after a reset: whoever learned the
// password would otherwise bind their own app to the account.
func inboxProven(st step) bool {
	return st.factor == FactorEmailCode || st.factor == FactorMagicLink || st.outcome == engine.OutcomeStepUpPassed
}

// toEnrolMFA holds the sign-in st until the app is enrolled, like
// toConsent holds it for consents (a flow this client holds moves on; a
// one-shot sign-in continues in a new flow).
func (s *SignIn) toEnrolMFA(ctx context.Context, st step) (*LoginResult, error) {
	if !inboxProven(st) {
		return s.toSecondFactor(ctx, st, []Method{MethodEmailCode})
	}
	state := st.state(strings.Join([]string{stateEnrolMFA, strconv.Itoa(int(st.aal)), string(st.outcome), string(st.factor)}, "|"))
	return s.holdSignIn(ctx, st, state, LoginMFAEnrolmentRequired)
}

// parseEnrolState reads the enrolment state back; ok is false for any
// other state.
func parseEnrolState(state string) (aal AAL, o engine.Outcome, f Factor, ok bool) {
	parts := strings.Split(baseState(state), "|")
	if len(parts) != 4 || parts[0] != stateEnrolMFA {
		return 0, "", "", false
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || (AAL(n) != AAL1 && AAL(n) != AAL2) {
		return 0, "", "", false
	}
	return AAL(n), engine.Outcome(parts[2]), Factor(parts[3]), true
}

// enrolFlow loads the flow handle held for the enrolment and its user.
func (s *SignIn) enrolFlow(ctx context.Context, handle string) (LoginFlow, *User, error) {
	fl, err := s.flowByHandle(ctx, handle)
	if err != nil {
		return LoginFlow{}, nil, err
	}
	if _, _, _, ok := parseEnrolState(fl.State); !ok {
		return LoginFlow{}, nil, newErr(CodeInvalidStep, "this sign-in is not waiting for an authenticator app")
	}
	u, err := s.flowUser(ctx, fl)
	if err != nil {
		return LoginFlow{}, nil, err
	}
	if u == nil || u.Disabled {
		return LoginFlow{}, nil, errLoginFailed()
	}
	return fl, u, nil
}

// BeginLoginTOTP starts the enrolment of a sign-in held for it: a new
// pending app (sealed secret), shown once, as BeginTOTP does for a
// signed-in account. Calling it again replaces the pending app.
func (s *SignIn) BeginLoginTOTP(ctx context.Context, flowID string) (e *TOTPEnrollment, err error) {
	defer func() { s.metrics.result("login_totp_begin", err) }()
	_, u, err := s.enrolFlow(ctx, flowID)
	if err != nil {
		return nil, err
	}
	return s.beginTOTP(ctx, u)
}

// ConfirmLoginTOTPRequest proves the app of a held sign-in.
type ConfirmLoginTOTPRequest struct {
	FlowID   string
	FactorID string
	Code     string
	Client   Client
}

// ConfirmLoginTOTP activates the pending app with its first valid code,
// issues recovery codes (LoginResult.RecoveryCodes, shown once), clears
// the required action, notifies the owner and the SOC (mfa_enrolled), and
// completes the sign-in at AAL2: the owner has just proven the inbox and
// the app.
func (s *SignIn) ConfirmLoginTOTP(ctx context.Context, r ConfirmLoginTOTPRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("login_totp_confirm", err) }()
	fl, u, err := s.enrolFlow(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	_, o, f, _ := parseEnrolState(fl.State)
	codes, err := s.confirmTOTP(ctx, u, r.FactorID, r.Code)
	if err != nil {
		return nil, err
	}
	if err := s.required.RemoveRequiredAction(ctx, u.ID, ActionEnrolMFA); err != nil {
		return nil, err
	}
	s.emit(secevent.MFAEnrolled, u, r.Client, "", map[string]string{"factor": "totp", "required_action": ActionEnrolMFA})
	s.notifyMFA(ctx, u.Email, mail.MFAChangeData{Change: mail.MFAAdded, Factor: "authenticator app"}, r.Client)
	st := flowStep(fl, r.FlowID, u, f, r.Client)
	st.aal, st.outcome = AAL2, o
	res, err = s.complete(ctx, st)
	if err != nil {
		return nil, err
	}
	res.RecoveryCodes = codes
	return res, nil
}
