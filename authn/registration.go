package authn

import (
	"context"
	"errors"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
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
	Client   Client
}

// RegisterResult is identical for a new and an already registered address.
type RegisterResult struct {
	// VerificationSent is always true: the address receives either a
	// verification link or an "you already have an account" mail.
	VerificationSent bool
}

// Register creates an account and mails a verification link. An address
// that already has an account gets the same answer at the same cost (the
// password is hashed either way) and its owner an account_exists mail, so
// registration cannot be used to find out who has an account.
func (s *Registration) Register(ctx context.Context, r RegisterRequest) (res *RegisterResult, err error) {
	defer func() { s.metrics.result("register", err) }()
	email, err := NormalizeEmail(r.Email)
	if err != nil {
		return nil, err
	}
	ev := s.event(engine.KindRegistration, nil, email, r.Client)
	ev.Password = r.Password
	d, err := s.evaluate(ctx, ev)
	if err != nil {
		return nil, err
	}
	if d.Action == risk.Block {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		return nil, newErr(CodeRequestRefused, "the request was refused")
	}
	if err := s.policy.Check(ctx, r.Password, password.PolicyInput{Email: email}); err != nil {
		return nil, policyErr(err)
	}
	phc, err := s.hasher.Hash(ctx, r.Password)
	if err != nil {
		return nil, hashErr(err)
	}
	now := s.clock.Now()
	u := User{ID: newID(), Email: email, PasswordHash: phc, PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
	err = s.users.CreateUser(ctx, u)
	switch {
	case errors.Is(err, ErrEmailTaken):
		s.deliver(ctx, mail.KindAccountExists, email, func() (mail.Message, error) { return s.render.AccountExists(email) })
	case err != nil:
		return nil, err
	default:
		tok, err := token.New()
		if err != nil {
			return nil, err
		}
		if err := s.tokens.IssueToken(ctx, OneTimeToken{ID: newID(), Kind: TokenEmailVerification, Hash: tokenHash(tok),
			UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.VerificationTTL)}); err != nil {
			return nil, err
		}
		s.deliver(ctx, mail.KindVerifyEmail, email, func() (mail.Message, error) {
			return s.render.VerifyEmail(email, mail.LinkData{Token: tok, ExpiresIn: s.cfg.VerificationTTL})
		})
	}
	return &RegisterResult{VerificationSent: true}, nil
}

// VerifyEmailRequest redeems a verification link.
type VerifyEmailRequest struct {
	Token string
}

// VerifyEmail marks the address proven; the link works once.
func (s *Registration) VerifyEmail(ctx context.Context, r VerifyEmailRequest) (err error) {
	defer func() { s.metrics.result("verify_email", err) }()
	if !token.Valid(r.Token) {
		return errInvalidToken()
	}
	t, err := s.tokens.ConsumeToken(ctx, TokenEmailVerification, tokenHash(r.Token), s.clock.Now())
	if errors.Is(err, ErrTokenInvalid) {
		return errInvalidToken()
	}
	if err != nil {
		return err
	}
	if err := s.users.MarkEmailVerified(ctx, t.UserID, s.clock.Now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errInvalidToken()
		}
		return err
	}
	return nil
}
