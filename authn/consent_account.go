package authn

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
)

// ConsentChoice is one purpose a client asks to grant, at the version it
// showed the user.
type ConsentChoice struct {
	Purpose string
	Version int
}

// ConsentView is the caller's consents: where they stand with every
// declared purpose, and the whole ledger behind it (newest first).
type ConsentView struct {
	Purposes []PurposeState
	History  []ConsentRecord
}

// GrantConsentsRequest grants purposes from the account.
type GrantConsentsRequest struct {
	SessionToken string
	Consents     []ConsentChoice
	Client       Client
}

// Consents returns the caller's consents and their history.
func (s *SelfService) Consents(ctx context.Context, sessionToken string) (v *ConsentView, err error) {
	defer func() { s.metrics.result("consents_read", err) }()
	_, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	return s.consentView(ctx, u.ID)
}

func (s *SelfService) consentView(ctx context.Context, userID string) (*ConsentView, error) {
	if s.self.consents == nil {
		return nil, newErr(CodeNotFound, "consents are not kept here")
	}
	h, err := s.self.consents.ConsentHistory(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("authn: consent history: %w", err)
	}
	return s.account.consentView(h), nil
}

// consentView is where a user stands with every declared purpose, given
// the ledger oldest first, and the ledger newest first.
func (c *AccountConfig) consentView(history []ConsentRecord) *ConsentView {
	v := &ConsentView{Purposes: c.states(history), History: history}
	slices.Reverse(v.History)
	return v
}

// GrantConsents records a grant of each purpose at its current version
// (CodeInvalidRequest naming every bad choice, nothing recorded, when a
// purpose is unknown, listed twice or not at its current version). A
// purpose already granted at that version is not recorded again.
func (s *SelfService) GrantConsents(ctx context.Context, r GrantConsentsRequest) (v *ConsentView, err error) {
	defer func() { s.metrics.result("consents_grant", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	if s.self.consents == nil {
		return nil, newErr(CodeNotFound, "consents are not kept here")
	}
	if err := s.grant(ctx, u, r.Consents, ConsentSourceAccount, r.Client, sess.ID); err != nil {
		return nil, err
	}
	return s.consentView(ctx, u.ID)
}

// WithdrawConsent records the withdrawal of purpose: as easy as the grant
// (no re-authentication), effective at once. Withdrawing a required
// purpose is allowed; the next sign-in then asks for it again. A purpose
// not granted is not recorded again; an undeclared one is CodeNotFound.
func (s *SelfService) WithdrawConsent(ctx context.Context, sessionToken, purpose string, c Client) (v *ConsentView, err error) {
	defer func() { s.metrics.result("consents_withdraw", err) }()
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	if s.self.consents == nil || s.account.purpose(purpose) == nil {
		return nil, newErr(CodeNotFound, "no such purpose")
	}
	h, err := s.self.consents.ConsentHistory(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("authn: consent history: %w", err)
	}
	for _, st := range s.account.states(h) {
		if st.Purpose.Name != purpose || !st.Granted {
			continue
		}
		rec := s.consentRecord(u, purpose, st.GrantedVersion, ConsentWithdraw, ConsentSourceAccount, c, sess.ID)
		if err := s.self.consents.AppendConsents(ctx, []ConsentRecord{rec}); err != nil {
			return nil, fmt.Errorf("authn: withdraw consent: %w", err)
		}
		s.emitConsent(u, rec, c)
	}
	return s.consentView(ctx, u.ID)
}

// checkChoices validates choices against the declarations: every purpose
// known, once, at its current version. field prefixes the field names.
func (c *AccountConfig) checkChoices(choices []ConsentChoice, field string) []engine.FieldError {
	var problems []engine.FieldError
	seen := map[string]bool{}
	for i, ch := range choices {
		at := field + "[" + strconv.Itoa(i) + "]"
		p := c.purpose(ch.Purpose)
		switch {
		case p == nil:
			problems = append(problems, engine.FieldError{Field: at + ".purpose", Message: "no such purpose"})
		case seen[ch.Purpose]:
			problems = append(problems, engine.FieldError{Field: at + ".purpose", Message: "listed twice"})
		case ch.Version != p.Current().Version:
			problems = append(problems, engine.FieldError{Field: at + ".version",
				Message: "not the current version (" + strconv.Itoa(p.Current().Version) + "): show it and send its number"})
		}
		seen[ch.Purpose] = true
	}
	return problems
}

// missingRequired names, as field errors, the required purposes choices
// leave out.
func (c *AccountConfig) missingRequired(choices []ConsentChoice, field string) []engine.FieldError {
	var names []string
	for _, p := range c.Purposes {
		if p.Required && !slices.ContainsFunc(choices, func(ch ConsentChoice) bool { return ch.Purpose == p.Name }) {
			names = append(names, p.Name+" v"+strconv.Itoa(p.Current().Version))
		}
	}
	if len(names) == 0 {
		return nil
	}
	return []engine.FieldError{{Field: field, Message: "required: " + strings.Join(names, ", ")}}
}

// grant validates choices and appends a grant for each that is not
// already granted at its version, then emits one event per entry.
func (s *core) grant(ctx context.Context, u *User, choices []ConsentChoice, source string, c Client, sessionID string) error {
	if problems := s.cfg.Account.checkChoices(choices, "consents"); len(problems) > 0 {
		return &Error{Code: CodeInvalidRequest, Message: "the consents are not valid", Fields: problems}
	}
	if len(choices) == 0 {
		return &Error{Code: CodeInvalidRequest, Message: "the consents are not valid",
			Fields: []engine.FieldError{{Field: "consents", Message: "at least one purpose"}}}
	}
	h, err := s.self.consents.ConsentHistory(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("authn: consent history: %w", err)
	}
	states := s.cfg.Account.states(h)
	var recs []ConsentRecord
	for _, ch := range choices {
		i := slices.IndexFunc(states, func(st PurposeState) bool { return st.Purpose.Name == ch.Purpose })
		if i >= 0 && states[i].Granted && states[i].GrantedVersion == ch.Version {
			continue
		}
		recs = append(recs, s.consentRecord(u, ch.Purpose, ch.Version, ConsentGrant, source, c, sessionID))
	}
	if len(recs) == 0 {
		return nil
	}
	if err := s.self.consents.AppendConsents(ctx, recs); err != nil {
		return fmt.Errorf("authn: grant consents: %w", err)
	}
	for _, rec := range recs {
		s.emitConsent(u, rec, c)
	}
	return nil
}

func (s *core) consentRecord(u *User, purpose string, version int, a ConsentAction, source string, c Client, sessionID string) ConsentRecord {
	rec := ConsentRecord{ID: newID(), UserID: u.ID, Purpose: purpose, Version: version, Action: a, At: s.clock.Now(),
		Source: source, App: c.Attributes["app"], UserAgent: truncUA(c.UserAgent), SessionID: sessionID}
	if len(rec.App) > 128 {
		rec.App = rec.App[:128]
	}
	if c.IP.IsValid() {
		rec.IP = c.IP.Unmap().String()
	}
	return rec
}

// emitConsent reports a ledger entry on the events stream (consent_granted
// or consent_withdrawn), for the marketing and CRM systems that follow
// consents, and to the audit trail.
func (s *core) emitConsent(u *User, rec ConsentRecord, c Client) {
	t := secevent.ConsentGranted
	if rec.Action == ConsentWithdraw {
		t = secevent.ConsentWithdrawn
	}
	d := map[string]string{"purpose": rec.Purpose, "version": strconv.Itoa(rec.Version), "source": rec.Source, "consent_id": rec.ID}
	if rec.App != "" {
		d["app"] = rec.App
	}
	s.emit(t, u, c, rec.SessionID, d)
}
