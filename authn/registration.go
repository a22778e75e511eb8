package authn

import (
	"context"
	"errors"
	"time"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// Registration creates accounts and proves their addresses: the flow of
// someone who has no account yet. It is its own service because nothing
// in it needs a flow, a session or a second factor, and because its one
// promise (the same answer and cost for a new and a taken address) is
// easiest to keep where nothing else lives.
type Registration struct{ *core }

// RegisterRequest creates an account.
type RegisterRequest struct {
	Email    string
	Password string
	// Consents are the purposes the user accepted, at the versions the
	// client showed (consent.go). Every required purpose must be there
	// when a consent ledger is kept.
	Consents []ConsentChoice
	Client   Client
}

// RegisterResult is alike for a new and an already registered address.
type RegisterResult struct {
	// VerificationSent is always true: the address receives either a
	// verification link or an "you already have an account" mail.
	VerificationSent bool
	// Binding is the registration secret the registering client keeps
	// (the HTTP layer sets it as a cookie, or returns it to an app) and
	// presents with the verification link (VerifyEmailRequest.Binding):
	// it shows the link was opened where the account was registered, so
	// the password chosen there may stay. Taken addresses get one too,
	// bound to nothing. It works until BindingExpiresAt.
	Binding          string
	BindingExpiresAt time.Time
}

// Register creates an account and mails a verification link. An address
// that already has an account gets the same answer at the same cost (the
// password is hashed either way) and its owner an account_exists mail, so
// registration cannot be used to find out who has an account.
func (s *Registration) Register(ctx context.Context, r RegisterRequest) (res *RegisterResult, err error) {
	defer func() { s.metrics.result("register", err) }()
	res, _, err = s.register(ctx, r, false)
	return res, err
}

// register is Register, and with passwordless the first half of
// Passkeys.RegisterWithPasskey: the account is created without a
// password (r.Password is ignored), for the passkey the caller registers
// next. It also returns the new account, nil for a taken address.
func (s *Registration) register(ctx context.Context, r RegisterRequest, passwordless bool) (*RegisterResult, *User, error) {
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkRegistrationConsents(r.Consents); err != nil {
		return nil, nil, err
	}
	if passwordless {
		r.Password = ""
	}
	ev := s.event(engine.KindRegistration, nil, email, r.Client)
	ev.Password = r.Password
	d, err := s.evaluate(ctx, ev)
	if err != nil {
		return nil, nil, err
	}
	if d.Action == risk.Block {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		return nil, nil, newErr(CodeRequestRefused, "the request was refused")
	}
	var phc string
	if !passwordless {
		if err := s.policy.Check(ctx, r.Password, password.PolicyInput{Email: email}); err != nil {
			return nil, nil, policyErr(err)
		}
		if phc, err = s.hasher.Hash(ctx, r.Password); err != nil {
			return nil, nil, hashErr(err)
		}
	}
	now := s.clock.Now()
	u := User{ID: newID(), Email: email, PasswordHash: phc, CreatedAt: now, UpdatedAt: now}
	if phc != "" {
		u.PasswordChangedAt = now
	}
	err = s.users.CreateUser(ctx, u)
	owner := u.ID
	source := "registration"
	if passwordless {
		source = "registration_passkey"
	}
	switch {
	case errors.Is(err, ErrEmailTaken):
		// A link and a binding bound to nobody, never mailed: the same
		// writes as for a new address.
		owner = ""
	case err != nil:
		return nil, nil, err
	default:
		// Lifecycle event (issue 20): a hand-off that costs nothing the
		// caller could time.
		s.emit(secevent.UserCreated, &u, r.Client, "", map[string]string{"source": source})
	}
	if err := s.registrationConsents(ctx, owner, &u, r); err != nil {
		return nil, nil, err
	}
	tok, err := s.issueLink(ctx, TokenEmailVerification, owner, s.cfg.VerificationTTL)
	if err != nil {
		return nil, nil, err
	}
	binding, err := s.issueLink(ctx, TokenRegistrationBinding, owner, s.cfg.VerificationTTL)
	if err != nil {
		return nil, nil, err
	}
	if owner == "" {
		lang := r.Client.Languages
		s.deliver(ctx, mail.KindAccountExists, email, func() (mail.Message, error) { return s.render.AccountExists(email, lang) })
	} else {
		s.deliver(ctx, mail.KindVerifyEmail, email, func() (mail.Message, error) {
			return s.render.VerifyEmail(email, mail.LinkData{Token: tok, ExpiresIn: s.cfg.VerificationTTL, Lang: r.Client.Languages})
		})
	}
	res := &RegisterResult{VerificationSent: true, Binding: binding, BindingExpiresAt: now.Add(s.cfg.VerificationTTL)}
	if owner == "" {
		return res, nil, nil
	}
	return res, &u, nil
}

// issueLink issues a link token of kind for the user userID ("" for
// nobody), valid ttl, and returns it.
func (s *core) issueLink(ctx context.Context, kind TokenKind, userID string, ttl time.Duration) (string, error) {
	tok, err := token.New()
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	if err := s.tokens.IssueToken(ctx, OneTimeToken{ID: newID(), Kind: kind, Hash: tokenHash(tok), UserID: userID,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		return "", err
	}
	return tok, nil
}

// VerifyEmailRequest redeems a verification link.
type VerifyEmailRequest struct {
	Token string
	// Binding is the registration secret of the client that opened the
	// link (RegisterResult.Binding), "" when it has none.
	Binding string
	Client  Client
}

// VerifyEmailResult says what the verification did.
type VerifyEmailResult struct {
	// PasswordToken is set when the link was opened elsewhere than where
	// the account was registered: the address is verified, but what was
	// set before (password, authenticator app, recovery codes, sessions)
	// is gone, since whoever set it may not own the inbox. The token is a
	// single-use password-reset token for this account (ResetPassword),
	// valid until PasswordTokenExpiresAt, so the owner sets the password
	// right away; until then the account has none.
	PasswordToken          string
	PasswordTokenExpiresAt time.Time
}

// VerifyEmail marks the address proven; the link works once. Opened in
// the registering client (Binding matches), the account stays as it is.
// Opened anywhere else, the inbox is proven but not the password: every
// credential created before verification is removed and a password
// token is returned (see VerifyEmailResult). An address verified
// meanwhile (by a sign-in code) is left alone.
func (s *Registration) VerifyEmail(ctx context.Context, r VerifyEmailRequest) (res *VerifyEmailResult, err error) {
	defer func() { s.metrics.result("verify_email", err) }()
	if !token.Valid(r.Token) {
		return nil, errInvalidToken()
	}
	t, err := s.tokens.ConsumeToken(ctx, TokenEmailVerification, tokenHash(r.Token), s.clock.Now())
	if errors.Is(err, ErrTokenInvalid) || err == nil && t.UserID == "" {
		return nil, errInvalidToken()
	}
	if err != nil {
		return nil, err
	}
	u, err := s.users.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidToken()
	}
	if err != nil {
		return nil, err
	}
	if !u.EmailVerifiedAt.IsZero() {
		return &VerifyEmailResult{}, nil
	}
	same, err := s.sameClient(ctx, r.Binding, u.ID)
	if err != nil {
		return nil, err
	}
	if same {
		return &VerifyEmailResult{}, s.verify(ctx, &u, r.Client)
	}
	if err := s.dropCredentials(ctx, &u, r.Client); err != nil {
		return nil, err
	}
	if err := s.verify(ctx, &u, r.Client); err != nil {
		return nil, err
	}
	pt, err := s.issueLink(ctx, TokenPasswordReset, u.ID, s.cfg.ResetTTL)
	if err != nil {
		return nil, err
	}
	return &VerifyEmailResult{PasswordToken: pt, PasswordTokenExpiresAt: s.clock.Now().Add(s.cfg.ResetTTL)}, nil
}

// sameClient reports whether binding is the live registration binding of
// the account userID, spending it.
func (s *Registration) sameClient(ctx context.Context, binding, userID string) (bool, error) {
	if !token.Valid(binding) {
		return false, nil
	}
	b, err := s.tokens.ConsumeToken(ctx, TokenRegistrationBinding, tokenHash(binding), s.clock.Now())
	if errors.Is(err, ErrTokenInvalid) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return b.UserID != "" && b.UserID == userID, nil
}
