package authn

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"

	"golang.org/x/text/language"
)

// PurposeSpec declares one purpose a user may consent to (authn.account.
// purposes in riskauthd's configuration): the terms of service, the
// privacy policy, marketing mail, analytics. Each version has its own
// text or link, so the ledger can say exactly what a user agreed to.
type PurposeSpec struct {
	// Name is [a-z][a-z0-9_]{0,63}, unique.
	Name string `yaml:"name"`
	// Required purposes must be accepted at their current version to
	// register and to sign in: a new version makes the next sign-in
	// answer consent_required until it is accepted.
	Required bool `yaml:"required"`
	// Description says what the purpose is for, shown beside the choice.
	Description string `yaml:"description"`
	// Versions are the versions published so far; the highest is the
	// current one. At least one.
	Versions []PurposeVersion `yaml:"versions"`
}

// PurposeVersion is one published version of a purpose's text.
type PurposeVersion struct {
	// Version is a positive integer, unique within the purpose.
	Version int `yaml:"version"`
	// URL is where the text of this version is published (absolute
	// http(s)); Text is the text itself when it is short. One of them is
	// required.
	URL  string `yaml:"url"`
	Text string `yaml:"text"`
}

// PreferenceSpec declares what communication preferences a user may
// choose from (authn.account.preferences): each list is the set of
// accepted values; an empty list offers nothing of its kind.
type PreferenceSpec struct {
	// Channels a user may be contacted through ("email", "sms", "push").
	Channels []string `yaml:"channels"`
	// Topics a user may subscribe to ("newsletter", "product_updates").
	Topics []string `yaml:"topics"`
	// Languages are the BCP 47 tags communications exist in; the user's
	// choice must be one of them.
	Languages []string `yaml:"languages"`
}

// Limits of the consent declarations.
const (
	MaxPurposes          = 32
	MaxPurposeVersions   = 100
	maxPreferenceValues  = 64
	maxPurposeTextLength = 4096
)

// Current returns the purpose's current (highest) version.
func (p *PurposeSpec) Current() PurposeVersion {
	var cur PurposeVersion
	for _, v := range p.Versions {
		if v.Version > cur.Version {
			cur = v
		}
	}
	return cur
}

// purpose returns the declaration of name, nil when undeclared.
func (c *AccountConfig) purpose(name string) *PurposeSpec {
	i := slices.IndexFunc(c.Purposes, func(p PurposeSpec) bool { return p.Name == name })
	if i < 0 {
		return nil
	}
	return &c.Purposes[i]
}

// validateConsents reports every problem of the purposes and preference
// declarations, each naming what it is about.
func (c *AccountConfig) validateConsents() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.Purposes) > MaxPurposes {
		bad("purposes: %d declared, at most %d", len(c.Purposes), MaxPurposes)
	}
	seen := map[string]bool{}
	for i, p := range c.Purposes {
		at := fmt.Sprintf("purposes[%d]", i)
		if !attributeName.MatchString(p.Name) {
			bad("%s: name %q: want [a-z][a-z0-9_]{0,63}", at, p.Name)
		} else {
			at = "purposes." + p.Name
		}
		if seen[p.Name] {
			bad("%s: declared twice", at)
		}
		seen[p.Name] = true
		if len(p.Description) > maxPurposeTextLength {
			bad("%s: description longer than %d bytes", at, maxPurposeTextLength)
		}
		if len(p.Versions) == 0 || len(p.Versions) > MaxPurposeVersions {
			bad("%s: versions: want 1-%d", at, MaxPurposeVersions)
		}
		vs := map[int]bool{}
		for _, v := range p.Versions {
			switch {
			case v.Version < 1:
				bad("%s: version %d: want a positive integer", at, v.Version)
			case vs[v.Version]:
				bad("%s: version %d declared twice", at, v.Version)
			}
			vs[v.Version] = true
			if v.URL == "" && v.Text == "" {
				bad("%s: version %d: url or text is required", at, v.Version)
			}
			if v.URL != "" {
				if u, err := url.Parse(v.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					bad("%s: version %d: url %q: want an absolute http(s) URL", at, v.Version, v.URL)
				}
			}
			if len(v.Text) > maxPurposeTextLength {
				bad("%s: version %d: text longer than %d bytes", at, v.Version, maxPurposeTextLength)
			}
		}
	}
	for _, l := range []struct {
		key    string
		values []string
	}{{"channels", c.Preferences.Channels}, {"topics", c.Preferences.Topics}} {
		if len(l.values) > maxPreferenceValues {
			bad("preferences.%s: %d values, at most %d", l.key, len(l.values), maxPreferenceValues)
		}
		for i, v := range l.values {
			if !attributeName.MatchString(v) {
				bad("preferences.%s[%d] %q: want [a-z][a-z0-9_]{0,63}", l.key, i, v)
			}
			if slices.Index(l.values, v) != i {
				bad("preferences.%s: %q listed twice", l.key, v)
			}
		}
	}
	if len(c.Preferences.Languages) > maxPreferenceValues {
		bad("preferences.languages: %d values, at most %d", len(c.Preferences.Languages), maxPreferenceValues)
	}
	for i, v := range c.Preferences.Languages {
		if tag, err := language.Parse(v); err != nil || tag.String() != v {
			bad("preferences.languages[%d] %q: want a canonical BCP 47 tag", i, v)
		}
	}
	return errs
}

// ConsentAction is what a ledger entry records.
type ConsentAction string

// The ledger's actions.
const (
	ConsentGrant    ConsentAction = "grant"
	ConsentWithdraw ConsentAction = "withdraw"
)

// Sources of a consent entry: where the user gave or withdrew it.
const (
	ConsentSourceRegistration = "registration"
	ConsentSourceSignIn       = "sign_in"
	ConsentSourceAccount      = "account"
)

// ConsentRecord is one entry of a user's consent ledger: a grant or a
// withdrawal of one purpose at one version, with when, where and through
// what it happened. The ledger is append-only: the current state of a
// purpose is its latest entry, and nothing is ever updated in place.
type ConsentRecord struct {
	// ID is a UUIDv7 (time-ordered): entries of one instant keep their
	// order.
	ID      string
	UserID  string
	Purpose string
	// Version is the version granted; for a withdrawal, the version the
	// user had granted (0 when none).
	Version int
	Action  ConsentAction
	At      time.Time
	// Source is registration, sign_in or account; App is the client
	// application (the request's "app" attribute, "" when none).
	Source    string
	App       string
	IP        string
	UserAgent string
	// SessionID is the session the change was made from ("" at
	// registration and sign-in).
	SessionID string
}

// Preferences are a user's communication preferences: through which
// channels, about which topics, in which language they want to hear from
// the operator. They are choices, not consents: the legal basis of a
// marketing mail is its purpose's consent, these say how the user wants
// it.
type Preferences struct {
	UserID   string
	Channels []string
	Topics   []string
	// Language is a BCP 47 tag of PreferenceSpec.Languages, "" when
	// unset.
	Language string
	// Version counts the writes, as Profile.Version: the ETag of
	// /v1/account/preferences.
	Version   int64
	UpdatedAt time.Time
}

// ConsentStore keeps the consent ledger and the preferences of each user,
// deleted with the user.
type ConsentStore interface {
	// AppendConsents adds the entries (of one user) in one transaction;
	// ErrNotFound when the user does not exist.
	AppendConsents(ctx context.Context, recs []ConsentRecord) error
	// ConsentHistory returns the user's whole ledger, oldest first (by
	// At, then ID). It is what the privacy export includes.
	ConsentHistory(ctx context.Context, userID string) ([]ConsentRecord, error)
	// Preferences returns the user's preferences; a user who never saved
	// any gets the zero value with UserID set and Version 0.
	Preferences(ctx context.Context, userID string) (Preferences, error)
	// PutPreferences stores p as version expect+1 if the stored version
	// is still expect (0: none stored yet), else ErrConflict; ErrNotFound
	// for an unknown user.
	PutPreferences(ctx context.Context, p Preferences, expect int64) error
	// DeleteConsents removes the user's ledger and preferences, and the
	// email change records (EmailChangeStore: old and new addresses), for
	// the erasure, and reports how many rows went.
	DeleteConsents(ctx context.Context, userID string) (int64, error)
}

// PurposeState is one purpose as a user stands with it.
type PurposeState struct {
	Purpose PurposeSpec
	Current PurposeVersion
	// Granted: the latest entry is a grant, of GrantedVersion at At.
	Granted        bool
	GrantedVersion int
	At             time.Time
	// Outdated: granted, but at an older version than the current one.
	Outdated bool
}

// Pending reports whether the purpose is required and not accepted at its
// current version (what consent_required lists).
func (p PurposeState) Pending() bool {
	return p.Purpose.Required && (!p.Granted || p.GrantedVersion < p.Current.Version)
}

// states folds a ledger into the state of every declared purpose, in the
// order of the declarations.
func (c *AccountConfig) states(history []ConsentRecord) []PurposeState {
	latest := map[string]ConsentRecord{}
	for _, r := range history {
		latest[r.Purpose] = r
	}
	out := make([]PurposeState, len(c.Purposes))
	for i, p := range c.Purposes {
		st := PurposeState{Purpose: p, Current: p.Current()}
		if r, ok := latest[p.Name]; ok && r.Action == ConsentGrant {
			st.Granted, st.GrantedVersion, st.At = true, r.Version, r.At
			st.Outdated = r.Version < st.Current.Version
		} else if ok {
			st.At = r.At
		}
		out[i] = st
	}
	return out
}

// hasRequired reports whether any purpose is required.
func (c *AccountConfig) hasRequired() bool {
	return slices.ContainsFunc(c.Purposes, func(p PurposeSpec) bool { return p.Required })
}

// pendingConsents returns the required purposes the user has not accepted
// at their current version; nil when no purpose is required or no ledger
// is kept.
func (s *core) pendingConsents(ctx context.Context, userID string) ([]PurposeState, error) {
	if s.self.consents == nil || !s.cfg.Account.hasRequired() {
		return nil, nil
	}
	h, err := s.self.consents.ConsentHistory(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("authn: consent history: %w", err)
	}
	var out []PurposeState
	for _, st := range s.cfg.Account.states(h) {
		if st.Pending() {
			out = append(out, st)
		}
	}
	return out, nil
}
