package authn

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"time"

	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
)

// Magic links are bound to the client that asked for them (issue 17,
// item 7). Opened there — the browser holding the flow's binding cookie,
// or an app presenting the flow's handle — the link signs that client in.
// Opened anywhere else (the phone's mail app, a forwarded mail), it signs
// nobody in where it is opened: the answer describes the waiting sign-in
// (device, address, approximate place, time) and the owner may approve
// it there, which lets the client that asked go on (PollLogin), or deny
// it. A link leaked from the mailbox is then worth nothing to a stranger
// who did not start the flow.

// stateApproved: the flow's magic link was approved in another browser;
// the client that asked goes on with PollLogin.
const stateApproved = "approved"

// Approval describes a sign-in waiting on a magic link opened elsewhere:
// the client that asked for it, as its code request saw it.
type Approval struct {
	UserAgent string
	IP        string
	// Location is the approximate place ("Paris, FR"), "" when unknown.
	Location    string
	RequestedAt time.Time
	// ExpiresAt is when the link stops working.
	ExpiresAt time.Time
}

// flowBinding is the browser binding of the flow flowID: a MAC under a
// server key, so it needs no storage and cannot be forged, and is worth
// nothing for another flow.
func (s *SignIn) flowBinding(flowID string) string {
	m := hmac.New(sha256.New, s.bindKey)
	m.Write([]byte(flowID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// requester reports whether the client of r is the one that started fl,
// and the flow handle it holds ("" for a browser, whose page does not).
func (s *SignIn) requester(fl LoginFlow, r MagicLinkRequest) (handle string, ok bool) {
	if token.Valid(r.FlowID) && subtle.ConstantTimeCompare([]byte(flowKey(r.FlowID)), []byte(fl.ID)) == 1 {
		return r.FlowID, true
	}
	if r.Binding != "" && hmac.Equal([]byte(r.Binding), []byte(s.flowBinding(fl.ID))) {
		return "", true
	}
	return "", false
}

// linkFlow returns the live magic link of tok (not spent) and its flow,
// which must still wait for it.
func (s *SignIn) linkFlow(ctx context.Context, tok string, consume bool) (OneTimeToken, LoginFlow, error) {
	if !token.Valid(tok) {
		return OneTimeToken{}, LoginFlow{}, errInvalidToken()
	}
	now := s.clock.Now()
	get := s.tokens.LiveToken
	if consume {
		get = s.tokens.ConsumeToken
	}
	t, err := get(ctx, TokenMagicLink, tokenHash(tok), now)
	if errors.Is(err, ErrTokenInvalid) || err == nil && (t.UserID == "" || t.FlowID == "") {
		return OneTimeToken{}, LoginFlow{}, errInvalidToken()
	}
	if err != nil {
		return OneTimeToken{}, LoginFlow{}, err
	}
	fl, err := s.flows.FlowByID(ctx, t.FlowID, now)
	if err != nil {
		return OneTimeToken{}, LoginFlow{}, flowErr(err)
	}
	if baseState(fl.State) != stateCodeSent {
		return OneTimeToken{}, LoginFlow{}, errFlowExpired()
	}
	return t, fl, nil
}

// linkUser is the (enabled) account of a magic link's flow.
func (s *SignIn) linkUser(ctx context.Context, t OneTimeToken, fl LoginFlow) (*User, error) {
	u, err := s.flowUser(ctx, fl)
	if err != nil {
		return nil, err
	}
	if u == nil || u.ID != t.UserID || u.Disabled {
		return nil, errLoginFailed()
	}
	return u, nil
}

// ConsumeMagicLink redeems a magic link. Opened by the client that asked
// for it, it passes the first factor there (a session, or the second
// factor in this client). Opened anywhere else, it spends nothing and
// signs nobody in: the answer is LoginApprovalRequired with the waiting
// sign-in described, for ApproveMagicLink or DenyMagicLink.
func (s *SignIn) ConsumeMagicLink(ctx context.Context, r MagicLinkRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("magic_link", err) }()
	t, fl, err := s.linkFlow(ctx, r.Token, false)
	if err != nil {
		return nil, err
	}
	handle, same := s.requester(fl, r)
	if !same {
		a := &Approval{ExpiresAt: t.ExpiresAt}
		fc, err := s.clients.FlowClient(ctx, fl.ID, s.clock.Now())
		switch {
		case err == nil:
			a.UserAgent, a.IP, a.Location, a.RequestedAt = fc.UserAgent, fc.IP, fc.Location, fc.At
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
		return &LoginResult{Status: LoginApprovalRequired, Approval: a}, nil
	}
	if t, fl, err = s.linkFlow(ctx, r.Token, true); err != nil {
		return nil, err
	}
	u, err := s.linkUser(ctx, t, fl)
	if err != nil {
		return nil, err
	}
	return s.emailFirstFactorPassed(ctx, flowStep(fl, handle, u, FactorMagicLink, r.Client))
}

// ApproveMagicLink spends a magic link opened away from the client that
// asked for it, approving that client's sign-in: the link proves the
// inbox, the approval that its owner wants that sign-in. The client that
// asked goes on with PollLogin; nobody is signed in here.
func (s *SignIn) ApproveMagicLink(ctx context.Context, r MagicLinkRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("magic_link_approve", err) }()
	t, fl, err := s.linkFlow(ctx, r.Token, true)
	if err != nil {
		return nil, err
	}
	u, err := s.linkUser(ctx, t, fl)
	if err != nil {
		return nil, err
	}
	st := flowStep(fl, "", u, FactorMagicLink, r.Client)
	if _, err := s.flows.AdvanceFlow(ctx, fl.ID, FlowTransition{From: fl.State, To: st.state(stateApproved)}, s.clock.Now()); err != nil {
		return nil, flowErr(err)
	}
	return &LoginResult{Status: LoginApproved}, nil
}

// DenyMagicLink spends a magic link opened away from the client that
// asked for it and ends that client's sign-in: the owner did not ask for
// it. The flow's evaluation gets a failure outcome.
func (s *SignIn) DenyMagicLink(ctx context.Context, r MagicLinkRequest) (err error) {
	defer func() { s.metrics.result("magic_link_deny", err) }()
	t, fl, err := s.linkFlow(ctx, r.Token, true)
	if err != nil {
		return err
	}
	if _, err := s.linkUser(ctx, t, fl); err != nil {
		return err
	}
	if _, err := s.flows.AdvanceFlow(ctx, fl.ID, FlowTransition{From: fl.State, To: stateFailed}, s.clock.Now()); err != nil {
		return flowErr(err)
	}
	s.outcome(ctx, fl.EvaluationID, engine.OutcomeFailure)
	return nil
}

// PollLogin is how the client that asked for a magic link learns what
// became of it: still waiting (LoginCodeSent), approved elsewhere (the
// first factor passes here: a session for this client, or its second
// factor), denied (the generic refusal) or finished (flow_expired).
func (s *SignIn) PollLogin(ctx context.Context, r FlowRequest) (res *LoginResult, err error) {
	defer func() { s.metrics.result("poll", err) }()
	fl, err := s.flowByHandle(ctx, r.FlowID)
	if err != nil {
		return nil, err
	}
	switch baseState(fl.State) {
	case stateCodeSent:
		return &LoginResult{Status: LoginCodeSent, FlowID: r.FlowID, Methods: methods(fl.Methods), FlowExpiresAt: fl.ExpiresAt}, nil
	case stateApproved:
		u, err := s.flowUser(ctx, fl)
		if err != nil {
			return nil, err
		}
		if u == nil || u.Disabled {
			return nil, errLoginFailed()
		}
		return s.emailFirstFactorPassed(ctx, flowStep(fl, r.FlowID, u, FactorMagicLink, r.Client))
	}
	return nil, newErr(CodeInvalidStep, "this sign-in is not waiting for a link")
}

// location is the approximate place of a decision's client, "City, CC",
// "" when geolocation did not know.
func location(d *engine.Decision) string {
	if d == nil || d.Features == nil || !d.Features.Geo.Available {
		return ""
	}
	g := d.Features.Geo
	switch {
	case g.City != "" && g.Country != "":
		return g.City + ", " + g.Country
	case g.Country != "":
		return g.Country
	}
	return ""
}

// ipString is the client's address as stored, "" when unknown.
func ipString(c Client) string {
	if !c.IP.IsValid() {
		return ""
	}
	return c.IP.Unmap().String()
}
