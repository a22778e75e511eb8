package authn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
)

// PreferencesPatch changes some communication preferences: a nil field
// stays as it is; an empty list or "" clears.
type PreferencesPatch struct {
	Channels *[]string
	Topics   *[]string
	Language *string
}

// UpdatePreferencesRequest changes the caller's preferences made against
// the version IfMatch (or AnyVersion).
type UpdatePreferencesRequest struct {
	SessionToken string
	IfMatch      int64
	Patch        PreferencesPatch
	Client       Client
}

// PreferencesView is the caller's preferences and what they may choose
// from.
type PreferencesView struct {
	Preferences Preferences
	Spec        PreferenceSpec
}

// Preferences returns the caller's communication preferences.
func (s *SelfService) Preferences(ctx context.Context, sessionToken string) (v *PreferencesView, err error) {
	defer func() { s.metrics.result("preferences_read", err) }()
	_, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	if s.self.consents == nil {
		return nil, newErr(CodeNotFound, "preferences are not kept here")
	}
	p, err := s.self.consents.Preferences(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("authn: preferences: %w", err)
	}
	return &PreferencesView{Preferences: p, Spec: s.account.Preferences}, nil
}

// UpdatePreferences applies the patch when every value is one the
// configuration offers (else CodeInvalidRequest naming each bad field,
// nothing changed) and the preferences are still at r.IfMatch (else
// CodePreconditionFailed). A patch that changes nothing writes nothing.
// The change is audited with the names of the fields changed.
func (s *SelfService) UpdatePreferences(ctx context.Context, r UpdatePreferencesRequest) (v *PreferencesView, err error) {
	defer func() { s.metrics.result("preferences_update", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	if s.self.consents == nil {
		return nil, newErr(CodeNotFound, "preferences are not kept here")
	}
	p, err := s.self.consents.Preferences(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("authn: preferences: %w", err)
	}
	if r.IfMatch != AnyVersion && r.IfMatch != p.Version {
		return nil, errPrecondition()
	}
	spec := s.account.Preferences
	var problems []engine.FieldError
	var changed []string
	list := func(name string, in *[]string, allowed []string, cur *[]string) {
		if in == nil {
			return
		}
		next := []string{}
		for i, x := range *in {
			switch {
			case !slices.Contains(allowed, x):
				problems = append(problems, engine.FieldError{Field: name + "[" + strconv.Itoa(i) + "]",
					Message: "not one of: " + strings.Join(allowed, ", ")})
			case !slices.Contains(next, x):
				next = append(next, x)
			}
		}
		slices.Sort(next)
		if !slices.Equal(next, *cur) && !(len(next) == 0 && len(*cur) == 0) {
			*cur = next
			changed = append(changed, name)
		}
	}
	list("channels", r.Patch.Channels, spec.Channels, &p.Channels)
	list("topics", r.Patch.Topics, spec.Topics, &p.Topics)
	if l := r.Patch.Language; l != nil {
		switch {
		case *l != "" && !slices.Contains(spec.Languages, *l):
			problems = append(problems, engine.FieldError{Field: "language", Message: "not one of: " + strings.Join(spec.Languages, ", ")})
		case *l != p.Language:
			p.Language = *l
			changed = append(changed, "language")
		}
	}
	if len(problems) > 0 {
		return nil, &Error{Code: CodeInvalidRequest, Message: "the preferences are not valid", Fields: problems}
	}
	if len(changed) > 0 {
		p.UserID, p.UpdatedAt = u.ID, s.clock.Now()
		err := s.self.consents.PutPreferences(ctx, p, p.Version)
		if errors.Is(err, ErrConflict) {
			return nil, errPrecondition()
		}
		if err != nil {
			return nil, fmt.Errorf("authn: put preferences: %w", err)
		}
		p.Version++
		s.emit(secevent.PreferencesUpdated, u, r.Client, sess.ID, map[string]string{
			"fields": strings.Join(changed, ","), "version": strconv.FormatInt(p.Version, 10)})
	}
	return &PreferencesView{Preferences: p, Spec: spec}, nil
}
