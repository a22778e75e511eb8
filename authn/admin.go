package authn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/riskauth/riskauth/authn/secevent"
)

// Admin is the user administration (issue 20): what support staff and
// administrators do to customer accounts through the admin API — search,
// the single customer view, and actions that each need a reason and are
// each audited and emitted as a secevent (who: the admin key's name; when;
// why: the reason). It is its own service because its callers hold an
// admin key, not the account's credentials: nothing here asks for a
// password or a session, which is exactly why every call is recorded.
type Admin struct {
	*core
	dir UserDirectory
	// profiles is nil when the self-service stores are not configured:
	// the view then has no profile and profile changes are refused.
	profiles ProfileStore
}

// Actor is who does an administrative action and why.
type Actor struct {
	// Name is the admin key's name: who, in the audit trail.
	Name string
	// Reason is the free text the administrator gave (required, at most
	// MaxReasonLen characters, no control characters).
	Reason string
	// Client is where the request came from (the administrator's, never
	// shown to the account's owner).
	Client Client
}

// MaxReasonLen is the most characters a reason may have.
const MaxReasonLen = 500

// AdminAction names an action of the user administration. The values are
// stable: they are the admin API's route names and the events' "action".
type AdminAction string

// The actions.
const (
	ActionDisable            AdminAction = "disable"
	ActionEnable             AdminAction = "enable"
	ActionUnlock             AdminAction = "unlock"
	ActionResetMFA           AdminAction = "reset_mfa"
	ActionRevokeSessions     AdminAction = "revoke_sessions"
	ActionResendVerification AdminAction = "resend_verification"
	ActionMarkVerified       AdminAction = "mark_verified"
	ActionPasswordReset      AdminAction = "password_reset"
	ActionDelete             AdminAction = "delete"
)

// AdminActions lists every action, in the order the documents give them.
func AdminActions() []AdminAction {
	return []AdminAction{ActionDisable, ActionEnable, ActionUnlock, ActionResetMFA, ActionRevokeSessions,
		ActionResendVerification, ActionMarkVerified, ActionPasswordReset, ActionDelete}
}

// ActionResult says what an action did.
type ActionResult struct {
	Action AdminAction
	UserID string
	// Changed is false when the account already was as asked (disabling
	// a disabled account); the action is audited either way.
	Changed bool
	// SessionsRevoked counts the sessions the action ended.
	SessionsRevoked int
	// FailuresCleared counts the failed attempts an unlock forgot.
	FailuresCleared int64
	// FactorsRemoved counts the second factors a reset removed (the
	// authenticator app, pending or active, and the set of recovery
	// codes, each one).
	FactorsRemoved int
	// MailSent is false when a mail the action means to send was held
	// back by the per-address cap (Config.EmailSendLimit).
	MailSent bool
	// EnrolmentRequired: the owner's next sign-in must enrol an app
	// (reset_mfa).
	EnrolmentRequired bool
}

// Errors of the user administration.
var (
	errNoSuchUser      = newErr(CodeNotFound, "no such user")
	errAlreadyVerified = newErr(CodeAlreadyVerified, "the address is already verified")
)

// CheckReason refuses a missing, overlong or control-character reason
// (CodeInvalidRequest), for the other administrations (the OpenID Connect
// client registry) that take one.
func CheckReason(r string) error { return checkReason(r) }

// checkReason refuses a missing, overlong or control-character reason.
func checkReason(r string) error {
	switch {
	case strings.TrimSpace(r) == "":
		return newErr(CodeInvalidRequest, "a reason is required: say why, for the audit trail")
	case !utf8.ValidString(r) || utf8.RuneCountInString(r) > MaxReasonLen:
		return newErr(CodeInvalidRequest, fmt.Sprintf("the reason is at most %d characters of valid UTF-8", MaxReasonLen))
	case strings.ContainsFunc(r, unicode.IsControl):
		return newErr(CodeInvalidRequest, "the reason must not contain control characters")
	}
	return nil
}

// Act runs action on the account userID for by. Every action needs a
// reason and is emitted as a secevent carrying who and why, also when it
// changed nothing; an unknown account is CodeNotFound.
func (s *Admin) Act(ctx context.Context, action AdminAction, userID string, by Actor) (res *ActionResult, err error) {
	defer func() { s.metrics.result("admin_"+string(action), err) }()
	if err := checkReason(by.Reason); err != nil {
		return nil, err
	}
	if strings.TrimSpace(by.Name) == "" {
		return nil, errors.New("authn: admin action without an actor name")
	}
	u, err := s.users.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, errNoSuchUser
	}
	if err != nil {
		return nil, err
	}
	res = &ActionResult{Action: action, UserID: u.ID}
	switch action {
	case ActionDisable:
		err = s.disable(ctx, &u, by, res)
	case ActionEnable:
		err = s.enable(ctx, &u, by, res)
	case ActionUnlock:
		err = s.unlock(ctx, &u, by, res)
	case ActionResetMFA:
		err = s.resetMFA(ctx, &u, by, res)
	case ActionRevokeSessions:
		err = s.revokeSessions(ctx, &u, by, res)
	case ActionResendVerification:
		err = s.resendVerification(ctx, &u, by, res)
	case ActionMarkVerified:
		err = s.markVerified(ctx, &u, by, res)
	case ActionPasswordReset:
		err = s.sendPasswordReset(ctx, &u, by, res)
	case ActionDelete:
		err = s.deleteUser(ctx, &u, by, res)
	default:
		return nil, newErr(CodeInvalidRequest, fmt.Sprintf("unknown action %q", action))
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// emitAdmin records action on u by by as an event of type t, with the
// action's own details.
func (s *Admin) emitAdmin(t secevent.Type, u *User, by Actor, res *ActionResult, kv ...string) {
	d := map[string]string{"admin": by.Name, "reason": by.Reason, "action": string(res.Action)}
	if !res.Changed {
		d["changed"] = "false"
	}
	for i := 0; i+1 < len(kv); i += 2 {
		d[kv[i]] = kv[i+1]
	}
	s.emit(t, u, by.Client, "", d)
}
