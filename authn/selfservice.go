package authn

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn/secevent"
)

// SelfService is the signed-in user's own view of the account and their
// control over it (issue 19): the profile, the devices and the activity
// history. It is its own service because none of it changes how the user
// proves who they are (that is Account) and it needs stores the sign-in
// hot path does not (SelfServiceDeps).
type SelfService struct {
	*core
	profiles ProfileStore
	account  AccountConfig
	// changes keeps email change requests (email_change_flow.go); nil
	// leaves the email change unserved.
	changes EmailChangeStore
}

// SelfServiceDeps are the stores only the self-service surface uses. New
// builds Services.SelfService only when they are given.
type SelfServiceDeps struct {
	Profiles ProfileStore
	// Devices and Activity, optional, keep each user's devices and
	// history; sign-ins and security events write them.
	Devices  DeviceStore
	Activity ActivityStore
	// Profiler, optional, is the engine's profile editor (device trust).
	Profiler Profiler
	// Consents, optional, keeps the consent ledger and communication
	// preferences (consent.go); without it the consent routes answer
	// not_found and no sign-in asks for consent.
	Consents ConsentStore
	// EmailChanges, optional, keeps email change requests; without it
	// the email change routes answer not_found.
	EmailChanges EmailChangeStore
}

// Extra error codes of the self-service surface.
const (
	// CodePreconditionFailed: the If-Match version is not the stored one
	// (another tab saved first); read again and retry (HTTP 412).
	CodePreconditionFailed Code = "precondition_failed"
)

// AccountView is the account as its owner sees it: who they are to the
// service and their profile.
type AccountView struct {
	UserID          string
	Email           string
	EmailVerifiedAt time.Time
	CreatedAt       time.Time
	Profile         Profile
	// Attributes are the declarations of Profile.Attributes, for the
	// caller to tell editable ones apart.
	Attributes []AttributeSpec
}

// Account returns the caller's account and profile.
func (s *SelfService) Account(ctx context.Context, sessionToken string) (v *AccountView, err error) {
	defer func() { s.metrics.result("account_read", err) }()
	_, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, u)
}

func (s *SelfService) view(ctx context.Context, u *User) (*AccountView, error) {
	p, err := s.profiles.Profile(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if p.Attributes == nil {
		p.Attributes = map[string]any{}
	}
	s.account.normalise(p.Attributes)
	return &AccountView{UserID: u.ID, Email: u.Email, EmailVerifiedAt: u.EmailVerifiedAt, CreatedAt: u.CreatedAt,
		Profile: p, Attributes: s.account.Attributes}, nil
}

// AnyVersion as UpdateProfileRequest.IfMatch skips the version check
// (If-Match: *).
const AnyVersion int64 = -1

// UpdateProfileRequest changes the caller's profile.
type UpdateProfileRequest struct {
	SessionToken string
	// IfMatch is the version the change was made against (the ETag the
	// client read), or AnyVersion.
	IfMatch int64
	Patch   ProfilePatch
	Client  Client
}

// UpdateProfile applies the patch when it is valid as a whole (else
// CodeInvalidRequest naming every bad field, nothing changed) and the
// profile is still at r.IfMatch (else CodePreconditionFailed). A patch
// that changes nothing writes nothing. The change is audited with the
// names of the fields changed, never their values.
func (s *SelfService) UpdateProfile(ctx context.Context, r UpdateProfileRequest) (v *AccountView, err error) {
	defer func() { s.metrics.result("profile_update", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	p, changed, err := s.patchProfile(ctx, s.profiles, u.ID, r.IfMatch, r.Patch, false)
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 {
		s.emit(secevent.ProfileUpdated, u, r.Client, sess.ID, map[string]string{
			"fields": strings.Join(changed, ","), "version": strconv.FormatInt(p.Version, 10)})
	}
	return &AccountView{UserID: u.ID, Email: u.Email, EmailVerifiedAt: u.EmailVerifiedAt, CreatedAt: u.CreatedAt,
		Profile: p, Attributes: s.account.Attributes}, nil
}

func errPrecondition() *Error {
	return newErr(CodePreconditionFailed, "the account changed since it was read; read it again and retry")
}

// TokenAttributes returns the user's attributes declared in_tokens (none:
// nil), for the access tokens the HTTP layer signs. It trusts userID: the
// caller resolved it from a live session.
func (s *SelfService) TokenAttributes(ctx context.Context, userID string) (map[string]any, error) {
	var want []string
	for _, a := range s.account.Attributes {
		if a.InTokens {
			want = append(want, a.Name)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	p, err := s.profiles.Profile(ctx, userID)
	if err != nil {
		return nil, err
	}
	s.account.normalise(p.Attributes)
	out := map[string]any{}
	for _, k := range want {
		if v, ok := p.Attributes[k]; ok {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
