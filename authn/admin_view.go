package authn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine"

	"github.com/riskauth/riskauth/authn/totp"
)

// MaxPageSize is the most accounts one search page holds.
const MaxPageSize = 200

// UserPage is one page of a search.
type UserPage struct {
	Users []User
	// More is true when accounts follow the last one: ask again with
	// AfterCreated and AfterID set to the last one's CreatedAt and ID.
	More bool
}

// SearchUsers returns a page of accounts matching q (Limit 0 means 50,
// capped at MaxPageSize), in creation order.
func (s *Admin) SearchUsers(ctx context.Context, q UserQuery) (*UserPage, error) {
	switch q.Status {
	case "", StatusActive, StatusUnverified, StatusDisabled:
	default:
		return nil, newErr(CodeInvalidRequest, "status is one of active, unverified, disabled")
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, MaxPageSize)
	q.EmailPrefix = strings.TrimSpace(q.EmailPrefix)
	if err := s.attributeQuery(&q); err != nil {
		return nil, err
	}
	want := q.Limit
	q.Limit++ // one more tells whether another page follows
	us, err := s.dir.ListUsers(ctx, q)
	if err != nil {
		return nil, err
	}
	p := &UserPage{Users: us}
	if len(us) > want {
		p.Users, p.More = us[:want], true
	}
	return p, nil
}

// attributeQuery checks a search by custom attribute: the attribute is
// declared, and the value (text, from a query string) is converted to its
// type, so that the store compares like with like.
func (s *Admin) attributeQuery(q *UserQuery) error {
	if q.Attribute == "" {
		if q.AttributeValue != nil {
			return newErr(CodeInvalidRequest, "a value to search for needs the attribute to search in")
		}
		return nil
	}
	spec := s.cfg.Account.attribute(q.Attribute)
	if spec == nil {
		return &Error{Code: CodeInvalidRequest, Message: "no such attribute is declared",
			Fields: []engine.FieldError{{Field: "attribute", Message: "unknown attribute"}}}
	}
	text, ok := q.AttributeValue.(string)
	if !ok {
		return &Error{Code: CodeInvalidRequest, Message: "the attribute search needs a value",
			Fields: []engine.FieldError{{Field: "value", Message: "required with attribute"}}}
	}
	v, msg := spec.parseText(text)
	if msg != "" {
		return &Error{Code: CodeInvalidRequest, Message: "the value is not one the attribute can hold",
			Fields: []engine.FieldError{{Field: "value", Message: msg}}}
	}
	q.AttributeValue = v
	return nil
}

// UserView is the single customer view of one account: what support
// needs to help its owner, and nothing secret (no hash, no secret, no
// token).
type UserView struct {
	User User
	// PasswordScheme is the kind of the stored hash ("argon2id", or
	// "none" for a passwordless account); the hash itself never leaves.
	PasswordScheme string
	// TOTP is the authenticator app, nil when none is active; TOTPPending
	// when an enrolment was begun and not confirmed.
	TOTP        *FactorView
	TOTPPending *FactorView
	// RecoveryCodes is how many unused recovery codes remain.
	RecoveryCodes int
	// Passkeys are the account's passkeys (names, dates, backup flags,
	// clone warnings; no key material).
	Passkeys []PasskeyInfo
	// Sessions are the live sessions, most recently seen first.
	Sessions []Session
	// Recent are the latest sign-in attempts, newest first.
	Recent []Attempt
	// WrongPasswords counts the wrong passwords within the account
	// window; Held is true past the threshold (sign-in then asks for an
	// email code whatever the password). Unlock clears both.
	WrongPasswords int
	Held           bool
	// Profile is the owner's profile and attributes (nil without the
	// self-service stores).
	Profile *Profile
	// Devices are the devices the owner signed in from, with the engine's
	// trust; Activity the latest entries of the owner's history, newest
	// first. Both empty without the self-service stores.
	Devices  []DeviceInfo
	Activity []Activity
	// Risk summarises the engine's risk profile of the account (nil when
	// the state store keeps none).
	Risk *RiskSummary
	// Consents are where the owner stands with every declared purpose and
	// the ledger behind it, newest first (nil when consents are not kept).
	Consents *ConsentView
	// Identities are the linked upstream identities, oldest first.
	Identities []LinkedIdentity
}

// RiskSummary is what support reads of the engine's risk profile: how
// established the account is, not the profile itself (whose familiarity
// history is opaque hashes).
type RiskSummary struct {
	// Logins counts the successful sign-ins the engine learned from.
	Logins     int
	FirstLogin time.Time
	LastLogin  time.Time
	// LastCountry is the country of the last successful sign-in.
	LastCountry string
	// Countries and Networks (ASNs) are how many distinct ones the
	// profile keeps; Devices and TrustedDevices how many devices.
	Countries, Networks     int
	Devices, TrustedDevices int
}

// FactorView is one second factor without its secret.
type FactorView struct {
	ID          string
	CreatedAt   time.Time
	ConfirmedAt time.Time
	LastUsedAt  time.Time
}

// recentInView is how many attempts the view shows.
const recentInView = 20

// ViewUser returns the single customer view of the account userID;
// CodeNotFound when there is none.
func (s *Admin) ViewUser(ctx context.Context, userID string) (*UserView, error) {
	u, err := s.users.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, errNoSuchUser
	}
	if err != nil {
		return nil, err
	}
	v := &UserView{User: u, PasswordScheme: passwordScheme(u.PasswordHash)}
	if v.TOTP, err = s.factorView(ctx, s.totps.ActiveTOTP, userID); err != nil {
		return nil, err
	}
	if v.TOTPPending, err = s.factorView(ctx, s.totps.PendingTOTP, userID); err != nil {
		return nil, err
	}
	if v.RecoveryCodes, err = s.recovery.CountRecoveryCodes(ctx, userID); err != nil {
		return nil, err
	}
	if s.passkeys != nil {
		ps, err := s.passkeys.Passkeys(ctx, userID)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			v.Passkeys = append(v.Passkeys, passkeyInfo(p))
		}
	}
	if v.Sessions, err = s.sessions.ListSessions(ctx, userID, s.clock.Now()); err != nil {
		return nil, err
	}
	if v.Recent, err = s.attempts.RecentLogins(ctx, userID, recentInView); err != nil {
		return nil, err
	}
	if v.WrongPasswords, err = s.guesses(ctx, u.Email); err != nil {
		return nil, err
	}
	v.Held = s.held(v.WrongPasswords)
	v.Identities = []LinkedIdentity{}
	if s.ids != nil {
		if v.Identities, err = s.ids.Identities(ctx, userID); err != nil {
			return nil, err
		}
	}
	if err := s.selfServiceView(ctx, v); err != nil {
		return nil, err
	}
	return v, nil
}

// selfServiceView adds what the self-service stores and the engine hold
// to v: profile, devices, recent activity and the risk summary.
func (s *Admin) selfServiceView(ctx context.Context, v *UserView) error {
	id := v.User.ID
	if s.profiles != nil {
		p, err := s.profiles.Profile(ctx, id)
		if err != nil {
			return err
		}
		if p.Attributes == nil {
			p.Attributes = map[string]any{}
		}
		s.cfg.Account.normalise(p.Attributes)
		v.Profile = &p
	}
	var prof engine.Profile
	if s.self.profiler != nil {
		var err error
		prof, err = s.self.profiler.UserProfile(ctx, id)
		switch {
		case errors.Is(err, engine.ErrProfileUnsupported):
		case err != nil:
			return fmt.Errorf("authn: risk profile: %w", err)
		default:
			v.Risk = riskSummary(prof)
		}
	}
	if s.self.devices != nil {
		ds, err := s.self.devices.Devices(ctx, id)
		if err != nil {
			return err
		}
		v.Devices = deviceInfos(ds, prof, "")
	}
	if s.self.consents != nil {
		h, err := s.self.consents.ConsentHistory(ctx, id)
		if err != nil {
			return fmt.Errorf("authn: consent history: %w", err)
		}
		v.Consents = s.cfg.Account.consentView(h)
	}
	if s.self.activity != nil {
		as, err := s.self.activity.ListActivity(ctx, id, time.Time{}, "", recentInView)
		if err != nil {
			return err
		}
		v.Activity = as
	}
	return nil
}

func riskSummary(p engine.Profile) *RiskSummary {
	r := &RiskSummary{Logins: p.Logins, FirstLogin: p.FirstLogin, Countries: len(p.Countries), Networks: len(p.ASNs)}
	if p.Last != nil {
		r.LastLogin, r.LastCountry = p.Last.At, p.Last.Country
	}
	for _, d := range p.Devices {
		if d.Forgotten {
			continue
		}
		r.Devices++
		if d.Trusted {
			r.TrustedDevices++
		}
	}
	return r
}

func (s *Admin) factorView(ctx context.Context, get func(context.Context, string) (TOTPFactor, error), userID string) (*FactorView, error) {
	f, err := get(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	fv := &FactorView{ID: f.ID, CreatedAt: f.CreatedAt, ConfirmedAt: f.ConfirmedAt}
	if f.LastUsedStep > 0 {
		fv.LastUsedAt = time.Unix(0, 0).Add(time.Duration(f.LastUsedStep) * totp.Period).UTC()
	}
	return fv, nil
}

// passwordScheme names the kind of a PHC or foreign hash string without
// revealing anything of it.
func passwordScheme(h string) string {
	switch {
	case h == "":
		return "none"
	case strings.HasPrefix(h, "$argon2id$"):
		return "argon2id"
	}
	return "other"
}
