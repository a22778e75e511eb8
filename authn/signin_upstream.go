package authn

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/authn/upstream"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// Sign-in through upstream identity providers (issue 22): the browser
// goes to the provider with the code flow (PKCE S256, a nonce, a state
// bound to the browser by a sealed cookie and usable once), comes back
// with a code, and the verified ID token's (issuer, subject) decides:
//
//   - linked to an account: that account signs in, judged by the engine
//     like any sign-in (factor "upstream", attr.upstream_provider); a
//     block refuses, a step-up asks for a riskauth second factor;
//   - not linked, with a verified address that no account has: a new
//     account is registered with that address, verified, and linked;
//   - not linked, with a verified address an account has: nothing is
//     linked until the user proves that account in a sign-in flow of
//     its own (password, emailed code...); when the flow completes, the
//     identity is linked, audited, and the owner is mailed;
//   - an address the provider does not vouch for never links and never
//     registers (ErrUpstreamUnverified), whoever has it.

// FactorUpstream is a sign-in through an upstream identity provider in
// the attempt history and the engine's event (authn.factor).
const FactorUpstream Factor = "upstream"

// UpstreamProviderAttr is the event attribute naming the provider of an
// upstream sign-in: rules read attr.upstream_provider.
const UpstreamProviderAttr = "upstream_provider"

// Typed refusals of an upstream sign-in (the HTTP layer branches on them).
var (
	// ErrUpstreamUnknown: no configured provider has that name.
	ErrUpstreamUnknown = errors.New("authn: unknown upstream provider")
	// ErrUpstreamState: the callback's state is missing, is not the one
	// of this browser's cookie, has expired or was used already.
	ErrUpstreamState = errors.New("authn: upstream sign-in state is invalid")
	// ErrUpstreamRejected: the provider refused or its answer did not
	// verify (upstream.ErrRejected).
	ErrUpstreamRejected = errors.New("authn: upstream sign-in rejected")
	// ErrUpstreamUnverified: the identity is not linked and the provider
	// does not vouch for its address, so it can neither link nor
	// register.
	ErrUpstreamUnverified = errors.New("authn: upstream address not verified")
)

// UpstreamProvider is one upstream identity provider;
// *upstream.Provider implements it.
type UpstreamProvider interface {
	Name() string
	DisplayName() string
	// AuthURL and Exchange fail with upstream.ErrUnavailable when the
	// provider does not answer within its deadline.
	AuthURL(ctx context.Context, state, nonce, verifier string) (string, error)
	Exchange(ctx context.Context, code, verifier, nonce string) (upstream.Identity, error)
}

var _ UpstreamProvider = (*upstream.Provider)(nil)

// Upstream signs in through upstream identity providers and manages the
// owner's linked identities. Nil in Services without providers.
type Upstream struct {
	signin    *SignIn
	providers []UpstreamProvider
}

// UpstreamButton is a provider as the sign-in page offers it.
type UpstreamButton struct{ Name, DisplayName string }

// Providers lists the configured providers, in configuration order.
func (s *Upstream) Providers() []UpstreamButton {
	out := make([]UpstreamButton, len(s.providers))
	for i, p := range s.providers {
		out[i] = UpstreamButton{Name: p.Name(), DisplayName: p.DisplayName()}
	}
	return out
}

// DisplayName is the provider's display name, "" when unknown.
func (s *Upstream) DisplayName(name string) string {
	if p := s.provider(name); p != nil {
		return p.DisplayName()
	}
	return ""
}

func (s *Upstream) provider(name string) UpstreamProvider {
	for _, p := range s.providers {
		if p.Name() == name {
			return p
		}
	}
	return nil
}

// UpstreamStart is where to send the browser, and the state cookie it
// must hold when it comes back.
type UpstreamStart struct {
	URL string
	// Cookie is the sealed state (provider, state, nonce, PKCE verifier,
	// return_to); opaque to the browser. It works until ExpiresAt.
	Cookie    string
	ExpiresAt time.Time
}

// upstreamState is the sealed content of the state cookie.
type upstreamState struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r,omitempty"`
	Expires  int64  `json:"e"`
}

// upstreamStateAD binds the sealed cookie to its purpose.
var upstreamStateAD = []byte("riskauth/authn upstream state")

// Begin starts a sign-in at the provider name: fresh state, nonce and
// PKCE verifier; the state is recorded as a one-time token (so the
// callback works once, on any instance) and sealed, with the rest, into
// the cookie. returnTo (already checked by the caller) comes back with
// the result.
func (s *Upstream) Begin(ctx context.Context, name, returnTo string) (st *UpstreamStart, err error) {
	defer func() { s.signin.metrics.result("upstream_begin", err) }()
	p := s.provider(name)
	if p == nil {
		return nil, ErrUpstreamUnknown
	}
	var vals [3]string
	for i := range vals {
		if vals[i], err = token.New(); err != nil {
			return nil, err
		}
	}
	state, nonce, verifier := vals[0], vals[1], vals[2]
	u, err := p.AuthURL(ctx, state, nonce, verifier)
	if err != nil {
		return nil, err
	}
	ttl := s.signin.cfg.FlowTTL
	now := s.signin.clock.Now()
	if err := s.signin.tokens.IssueToken(ctx, OneTimeToken{ID: newID(), Kind: TokenUpstreamState, Hash: tokenHash(state),
		CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		return nil, err
	}
	exp := now.Add(ttl)
	raw, err := json.Marshal(upstreamState{Provider: name, State: state, Nonce: nonce, Verifier: verifier, ReturnTo: returnTo, Expires: exp.Unix()})
	if err != nil {
		return nil, err
	}
	sealed, err := s.signin.sealer.Seal(raw, upstreamStateAD)
	if err != nil {
		return nil, fmt.Errorf("authn: seal upstream state: %w", err)
	}
	return &UpstreamStart{URL: u, Cookie: base64.RawURLEncoding.EncodeToString(sealed), ExpiresAt: exp}, nil
}

// UpstreamCallback is the provider's answer as the browser brought it.
type UpstreamCallback struct {
	Provider string
	// Cookie is the browser's state cookie ("" when it has none).
	Cookie string
	// State, Code and Error are the callback's parameters.
	State, Code, Error string
	Client             Client
}

// UpstreamResult is the outcome of a callback.
type UpstreamResult struct {
	// Login is the sign-in: authenticated, a second factor, consents to
	// accept — or, with LinkEmail set, the first factor of the existing
	// account to prove before the identity is linked.
	Login *LoginResult
	// ReturnTo is what Begin was given.
	ReturnTo string
	// LinkEmail is set when an account has the identity's verified
	// address: Login is a flow of that account at its first factor.
	LinkEmail string
	// Registered: a new account was created for the identity.
	Registered bool
}

// Finish completes a sign-in at the provider: the state must be the
// cookie's and unused, the code is exchanged with the verifier, the ID
// token verified with the nonce; then the identity signs in, registers
// or waits for a proof (see the file comment).
func (s *Upstream) Finish(ctx context.Context, r UpstreamCallback) (res *UpstreamResult, err error) {
	defer func() { s.signin.metrics.result("upstream", err) }()
	p := s.provider(r.Provider)
	if p == nil {
		return nil, ErrUpstreamUnknown
	}
	st, err := s.openState(r)
	if err != nil {
		return nil, err
	}
	// Used once, whatever follows: a replayed callback finds it spent.
	if _, err := s.signin.tokens.ConsumeToken(ctx, TokenUpstreamState, tokenHash(st.State), s.signin.clock.Now()); err != nil {
		if errors.Is(err, ErrTokenInvalid) {
			return nil, ErrUpstreamState
		}
		return nil, err
	}
	if r.Error != "" || r.Code == "" {
		return nil, fmt.Errorf("%w: the provider answered %q", ErrUpstreamRejected, truncate(r.Error, 64))
	}
	id, err := p.Exchange(ctx, r.Code, st.Verifier, st.Nonce)
	switch {
	case errors.Is(err, upstream.ErrRejected):
		s.signin.log.Info("upstream sign-in rejected", "provider", r.Provider, "err", err)
		return nil, fmt.Errorf("%w: %w", ErrUpstreamRejected, err)
	case err != nil:
		return nil, err
	}
	res = &UpstreamResult{ReturnTo: st.ReturnTo}
	li, err := s.signin.ids.IdentityBySubject(ctx, id.Issuer, id.Subject)
	switch {
	case err == nil:
		res.Login, err = s.signInLinked(ctx, li, id, r.Client)
		return res, err
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	email, nerr := NormalizeEmail(id.Email)
	if !id.EmailVerified || nerr != nil {
		s.signin.audit(secevent.LoginFailed, nil, "", r.Client, "", map[string]string{"flow": flowSignIn,
			"factor": string(FactorUpstream), "reason": "upstream_email_unverified", "provider": id.Provider})
		return nil, ErrUpstreamUnverified
	}
	u, err := s.signin.users.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, ErrNotFound):
		return s.register(ctx, id, email, r.Client, res)
	case err != nil:
		return nil, err
	}
	res.Login, err = s.awaitProof(ctx, &u, id, email)
	res.LinkEmail = email
	return res, err
}

// openState unseals the cookie and checks it is this callback's: the
// provider, the state (constant time) and the expiry.
func (s *Upstream) openState(r UpstreamCallback) (upstreamState, error) {
	var st upstreamState
	raw, err := base64.RawURLEncoding.DecodeString(r.Cookie)
	if err != nil || r.Cookie == "" || r.State == "" {
		return st, ErrUpstreamState
	}
	plain, err := s.signin.sealer.Open(raw, upstreamStateAD)
	if err != nil || json.Unmarshal(plain, &st) != nil {
		return st, ErrUpstreamState
	}
	if st.Provider != r.Provider || subtle.ConstantTimeCompare([]byte(st.State), []byte(r.State)) != 1 ||
		!s.signin.clock.Now().Before(time.Unix(st.Expires, 0)) {
		return st, ErrUpstreamState
	}
	return st, nil
}

// signInLinked signs in the account li links to: the engine judges the
// sign-in (factor upstream, the provider as attr.upstream_provider); a
// block is the generic refusal, a step-up (or an account with an
// authenticator app) asks for a riskauth second factor.
func (s *Upstream) signInLinked(ctx context.Context, li LinkedIdentity, id upstream.Identity, c Client) (*LoginResult, error) {
	u, err := s.signin.users.UserByID(ctx, li.UserID)
	if err != nil {
		return nil, err
	}
	return s.signInAs(ctx, &u, li.ID, id.Provider, c)
}

// signInAs is the sign-in of u through the link linkID of provider.
func (s *Upstream) signInAs(ctx context.Context, u *User, linkID, provider string, c Client) (*LoginResult, error) {
	c.Attributes = maps.Clone(c.Attributes)
	if c.Attributes == nil {
		c.Attributes = map[string]string{}
	}
	c.Attributes[UpstreamProviderAttr] = provider
	ev := s.signin.event(engine.KindLogin, u, "", c)
	ev.Factor = string(FactorUpstream)
	d, err := s.signin.evaluateLogin(ctx, ev)
	if err != nil {
		return nil, err
	}
	st := step{user: u, identifier: u.Email, client: c, factor: FactorUpstream, device: d.Keys.Device,
		evaluationID: d.EvaluationID, newDevice: newDevice(d), aal: AAL1, outcome: engine.OutcomeSuccess}
	if u.Disabled {
		s.signin.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		s.signin.recordAttempt(ctx, u, attempt{factor: FactorUpstream, success: false, client: c, device: st.device})
		s.signin.auditStep(secevent.LoginFailed, st, "account_disabled")
		return nil, errLoginFailed()
	}
	if err := s.signin.ids.TouchIdentity(ctx, linkID, s.signin.clock.Now()); err != nil {
		s.signin.log.Warn("upstream identity use not recorded", "user_id", u.ID, "err", err)
	}
	mfa, err := s.signin.hasTOTP(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if d.Action != risk.StepUp && !mfa {
		return s.signin.complete(ctx, st)
	}
	// The upstream is the first factor; the second is riskauth's own.
	second := []Method{MethodEmailCode}
	if mfa {
		second = []Method{MethodTOTP, MethodRecoveryCode}
	}
	if pk, err := s.signin.hasPasskeys(ctx, u.ID); err != nil {
		return nil, err
	} else if pk {
		second = append([]Method{MethodPasskey}, second...)
	}
	return s.signin.toSecondFactor(ctx, st, second)
}

// register creates an account for a new identity with a verified
// address no account has: judged by the engine as a registration, the
// address verified (the provider vouched for it), no password, the
// identity linked. Required consents are asked for at the sign-in that
// follows (complete). An account created meanwhile with that address
// sends the identity to the proof instead.
func (s *Upstream) register(ctx context.Context, id upstream.Identity, email string, c Client, res *UpstreamResult) (*UpstreamResult, error) {
	ev := s.signin.event(engine.KindRegistration, nil, email, c)
	ev.Factor = string(FactorUpstream)
	d, err := s.signin.evaluate(ctx, ev)
	if err != nil {
		return nil, err
	}
	if d.Action == risk.Block {
		s.signin.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		return nil, newErr(CodeRequestRefused, "the request was refused")
	}
	s.signin.outcome(ctx, d.EvaluationID, engine.OutcomeSuccess)
	now := s.signin.clock.Now()
	u := User{ID: newID(), Email: email, EmailVerifiedAt: now, CreatedAt: now, UpdatedAt: now}
	err = s.signin.users.CreateUser(ctx, u)
	if errors.Is(err, ErrEmailTaken) {
		existing, err := s.signin.users.UserByEmail(ctx, email)
		if err != nil {
			return nil, err
		}
		res.Login, err = s.awaitProof(ctx, &existing, id, email)
		res.LinkEmail = email
		return res, err
	}
	if err != nil {
		return nil, err
	}
	s.signin.emit(secevent.UserCreated, &u, c, "", map[string]string{"source": "upstream", "provider": id.Provider})
	li, err := s.link(ctx, &u, id, c, "registration")
	if err != nil {
		return nil, err
	}
	res.Registered = true
	res.Login, err = s.signInAs(ctx, &u, li.ID, id.Provider, c)
	return res, err
}

// link records the link of id to u, audits it and emits the account
// change (details provider, issuer, identity_id, via).
func (s *Upstream) link(ctx context.Context, u *User, id upstream.Identity, c Client, via string) (LinkedIdentity, error) {
	now := s.signin.clock.Now()
	li := LinkedIdentity{ID: newID(), UserID: u.ID, Provider: id.Provider, Issuer: id.Issuer, Subject: id.Subject,
		Email: id.Email, LinkedAt: now, LastUsedAt: now}
	if err := s.signin.ids.LinkIdentity(ctx, li); err != nil {
		return LinkedIdentity{}, err
	}
	s.signin.emit(secevent.IdentityLinked, u, c, "", map[string]string{"provider": li.Provider, "issuer": li.Issuer,
		"identity_id": li.ID, "via": via})
	return li, nil
}

// awaitProof starts a sign-in flow of u (the account with the
// identity's verified address) at its first factor and keeps the
// identity as the flow's pending link: it is linked when that flow
// completes (linkPending), and not before.
func (s *Upstream) awaitProof(ctx context.Context, u *User, id upstream.Identity, email string) (*LoginResult, error) {
	handle, err := token.New()
	if err != nil {
		return nil, err
	}
	now := s.signin.clock.Now()
	fl := LoginFlow{ID: flowKey(handle), UserID: u.ID, Identifier: email, Methods: strs(firstFactors), State: stateStarted,
		CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(s.signin.cfg.FlowTTL)}
	if err := s.signin.flows.CreateFlow(ctx, fl); err != nil {
		return nil, err
	}
	if err := s.signin.ids.SavePendingLink(ctx, PendingLink{FlowID: fl.ID, UserID: u.ID, Provider: id.Provider, Issuer: id.Issuer,
		Subject: id.Subject, Email: id.Email, ExpiresAt: fl.ExpiresAt}, now); err != nil {
		return nil, err
	}
	return &LoginResult{Status: LoginChooseMethod, FlowID: handle, Methods: append([]Method(nil), firstFactors...),
		FlowExpiresAt: fl.ExpiresAt, Binding: s.signin.flowBinding(fl.ID)}, nil
}

// linkPending links the identity waiting on st's flow, now that the
// flow completed for its account (complete calls it after the session
// is issued); the owner is mailed. Best effort: a failure is logged, the
// sign-in stands.
func (s *SignIn) linkPending(ctx context.Context, st step) {
	if s.upstream == nil || st.flow == nil {
		return
	}
	pl, err := s.ids.TakePendingLink(ctx, st.flow.ID, s.clock.Now())
	if errors.Is(err, ErrNotFound) {
		return
	}
	if err != nil {
		s.log.Warn("pending upstream link not read", "user_id", st.user.ID, "err", err)
		return
	}
	if pl.UserID != st.user.ID {
		return
	}
	id := upstream.Identity{Provider: pl.Provider, Issuer: pl.Issuer, Subject: pl.Subject, Email: pl.Email, EmailVerified: true}
	li, err := s.upstream.link(ctx, st.user, id, st.client, "proof")
	if err != nil {
		s.log.Warn("upstream identity not linked", "user_id", st.user.ID, "err", err)
		return
	}
	s.notifyMFA(ctx, st.user.Email, mail.MFAChangeData{Change: mail.IdentityLinked, Factor: s.upstream.DisplayName(li.Provider)}, st.client)
}

// truncate cuts s to n bytes.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
