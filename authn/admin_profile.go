package authn

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"strings"

	"github.com/riskauth/riskauth/authn/secevent"
)

// ActionSetProfile is the name the audit trail and the events give an
// administrator's profile change (UpdateUserProfile); it takes a patch,
// so it is not one of Act's actions.
const ActionSetProfile AdminAction = "set_profile"

// ProfileResult is a profile after an administrator's change.
type ProfileResult struct {
	Profile Profile
	// Changed lists the fields changed, by wire name ("locale",
	// "attributes.tier"); empty when the patch changed nothing.
	Changed []string
}

// UpdateUserProfile applies an administrator's patch to the profile of
// userID: the same checks as the owner's own change (every bad field
// named, nothing written unless the whole patch is valid, If-Match
// against the stored version), except that the attributes the owner may
// not edit (a support tier, a CRM id) may be set here. Like every admin
// action it needs a reason and is emitted as user_updated with the names
// of the fields changed (never their values), who and why, also when
// nothing changed.
func (s *Admin) UpdateUserProfile(ctx context.Context, userID string, ifMatch int64, patch ProfilePatch, by Actor) (res *ProfileResult, err error) {
	defer func() { s.metrics.result("admin_"+string(ActionSetProfile), err) }()
	if err := checkReason(by.Reason); err != nil {
		return nil, err
	}
	if strings.TrimSpace(by.Name) == "" {
		return nil, errors.New("authn: admin action without an actor name")
	}
	if s.profiles == nil {
		return nil, newErr(CodeInvalidRequest, "profiles are not kept by this service")
	}
	u, err := s.users.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, errNoSuchUser
	}
	if err != nil {
		return nil, err
	}
	p, changed, err := s.patchProfile(ctx, s.profiles, u.ID, ifMatch, patch, true)
	if err != nil {
		return nil, err
	}
	s.emitAdmin(secevent.UserUpdated, &u, by, &ActionResult{Action: ActionSetProfile, UserID: u.ID, Changed: len(changed) > 0},
		"fields", strings.Join(changed, ","), "version", strconv.FormatInt(p.Version, 10))
	return &ProfileResult{Profile: p, Changed: changed}, nil
}

// patchProfile applies patch to userID's profile as the owner (admin
// false) or an administrator: nothing is written unless the stored
// version is still ifMatch (else CodePreconditionFailed) and the whole
// patch is valid (else CodeInvalidRequest naming every bad field); a
// patch that changes nothing writes nothing. It returns the profile as
// stored and the names of the fields changed.
func (s *core) patchProfile(ctx context.Context, profiles ProfileStore, userID string, ifMatch int64, patch ProfilePatch, admin bool) (Profile, []string, error) {
	p, err := profiles.Profile(ctx, userID)
	if err != nil {
		return Profile{}, nil, err
	}
	if ifMatch != AnyVersion && ifMatch != p.Version {
		return Profile{}, nil, errPrecondition()
	}
	p.UserID = userID
	p.Attributes = maps.Clone(p.Attributes)
	if p.Attributes == nil {
		p.Attributes = map[string]any{}
	}
	s.cfg.Account.normalise(p.Attributes)
	changed, problems := s.cfg.Account.applyAs(&p, patch, admin)
	if len(problems) > 0 {
		return Profile{}, nil, &Error{Code: CodeInvalidRequest, Message: "the profile change is not valid", Fields: problems}
	}
	if len(changed) > 0 {
		p.UpdatedAt = s.clock.Now()
		err := profiles.PutProfile(ctx, p, p.Version)
		if errors.Is(err, ErrConflict) {
			return Profile{}, nil, errPrecondition()
		}
		if err != nil {
			return Profile{}, nil, err
		}
		p.Version++
	}
	return p, changed, nil
}
