package authn

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// KindEmailChange is the engine event kind of an email change request:
// rules see it like any event of the user (place, device, velocity).
const KindEmailChange = "email_change"

// ChangeEmailRequest asks to move the caller's account to NewEmail.
type ChangeEmailRequest struct {
	SessionToken string
	NewEmail     string
	Client       Client
}

// ChangeEmailResult is alike for a free and a taken address.
type ChangeEmailResult struct {
	// ApprovalRequired: the engine found the request risky (step_up); the
	// current address must approve it too, through its own link.
	ApprovalRequired bool
	// ExpiresAt ends the links.
	ExpiresAt time.Time
}

// EmailChangeStatus says what redeeming an email change link did.
type EmailChangeStatus string

// The statuses of ConfirmEmailChange.
const (
	// EmailChangePending: this proof is recorded, the other is awaited
	// (the new address's link, or the current address's approval).
	EmailChangePending EmailChangeStatus = "pending"
	// EmailChangeApplied: the account now has the new address.
	EmailChangeApplied EmailChangeStatus = "changed"
)

// ChangeEmail starts an email change: a fresh re-authentication is
// required (CodeReauthenticationRequired), the engine evaluates the
// request (event email_change: a block is CodeRequestRefused, a step_up
// asks the current address to approve), and a single-use link bound to
// the change goes to the new address. An address that already has an
// account gets the same answer and the same writes; its owner is told
// instead, and nothing can complete. Nothing changes until the links are
// redeemed (ConfirmEmailChange).
func (s *SelfService) ChangeEmail(ctx context.Context, r ChangeEmailRequest) (res *ChangeEmailResult, err error) {
	defer func() { s.metrics.result("email_change", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	if s.changes == nil {
		return nil, newErr(CodeNotFound, "email changes are not served here")
	}
	if _, err := (&Account{core: s.core}).requireFresh(ctx, sess); err != nil {
		return nil, err
	}
	email, err := NormalizeEmail(r.NewEmail)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(email, u.Email) {
		return nil, &Error{Code: CodeInvalidRequest, Message: "the change is not valid",
			Fields: []engine.FieldError{{Field: "new_email", Message: "already the account's address"}}}
	}
	d, err := s.evaluate(ctx, s.event(KindEmailChange, u, "", r.Client))
	if err != nil {
		return nil, err
	}
	if d.Action == risk.Block {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		s.emit(secevent.EmailChangeRequested, u, r.Client, sess.ID, map[string]string{"evaluation_id": d.EvaluationID, "refused": "true"})
		return nil, newErr(CodeRequestRefused, "the request was refused")
	}
	approval := d.Action == risk.StepUp
	if !approval {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeSuccess)
	}
	_, lookup := s.users.UserByEmail(ctx, email)
	taken := lookup == nil
	if lookup != nil && !errors.Is(lookup, ErrNotFound) {
		return nil, lookup
	}
	now := s.clock.Now()
	ch := EmailChange{ID: newID(), UserID: u.ID, OldEmail: u.Email, NewEmail: email, ConfirmRequired: approval,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.VerificationTTL), EvaluationID: d.EvaluationID}
	if err := s.changes.CreateEmailChange(ctx, ch); err != nil {
		return nil, fmt.Errorf("authn: email change: %w", err)
	}
	tok, err := s.issueChangeLink(ctx, TokenEmailChange, ch, s.cfg.VerificationTTL)
	if err != nil {
		return nil, err
	}
	rc := s.requestContext(r.Client)
	if taken {
		// The same writes, but the link is never sent: the owner of the
		// address learns someone tried, and the change cannot complete.
		s.deliver(ctx, mail.KindAccountExists, email, func() (mail.Message, error) { return s.render.AccountExists(email, rc.Lang) })
	} else {
		s.deliver(ctx, mail.KindEmailChange, email, func() (mail.Message, error) {
			return s.render.EmailChange(email, mail.EmailChangeData{Token: tok, ExpiresIn: s.cfg.VerificationTTL, NewAddress: email, Context: rc})
		})
	}
	if approval {
		ctok, err := s.issueChangeLink(ctx, TokenEmailChangeConfirm, ch, s.cfg.VerificationTTL)
		if err != nil {
			return nil, err
		}
		s.deliver(ctx, mail.KindEmailChange, u.Email, func() (mail.Message, error) {
			return s.render.EmailChange(u.Email, mail.EmailChangeData{Token: ctok, ExpiresIn: s.cfg.VerificationTTL, NewAddress: email,
				Confirm: true, Context: rc})
		})
	}
	s.emit(secevent.EmailChangeRequested, u, r.Client, sess.ID, map[string]string{"change_id": ch.ID, "evaluation_id": d.EvaluationID,
		"approval_required": strconv.FormatBool(approval)})
	return &ChangeEmailResult{ApprovalRequired: approval, ExpiresAt: ch.ExpiresAt}, nil
}

// issueChangeLink issues a link token of kind bound to the change ch.
func (s *core) issueChangeLink(ctx context.Context, kind TokenKind, ch EmailChange, ttl time.Duration) (string, error) {
	tok, err := token.New()
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	if err := s.tokens.IssueToken(ctx, OneTimeToken{ID: newID(), Kind: kind, Hash: tokenHash(tok), UserID: ch.UserID, FlowID: ch.ID,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		return "", err
	}
	return tok, nil
}

// EmailLinkRequest redeems an email change link (confirm, approve or
// undo): the token is all it takes, as with a verification link.
type EmailLinkRequest struct {
	Token  string
	Client Client
}

// changeByLink consumes a live token of one of kinds and returns it with
// its change; anything else is CodeInvalidToken.
func (s *SelfService) changeByLink(ctx context.Context, tok string, kinds ...TokenKind) (OneTimeToken, EmailChange, error) {
	if s.changes == nil || !token.Valid(tok) {
		return OneTimeToken{}, EmailChange{}, errInvalidChangeLink()
	}
	now := s.clock.Now()
	for _, k := range kinds {
		t, err := s.tokens.ConsumeToken(ctx, k, tokenHash(tok), now)
		if errors.Is(err, ErrTokenInvalid) {
			continue
		}
		if err != nil {
			return OneTimeToken{}, EmailChange{}, err
		}
		ch, err := s.changes.EmailChangeByID(ctx, t.FlowID)
		if errors.Is(err, ErrNotFound) || err == nil && ch.UserID != t.UserID {
			return OneTimeToken{}, EmailChange{}, errInvalidChangeLink()
		}
		return t, ch, err
	}
	return OneTimeToken{}, EmailChange{}, errInvalidChangeLink()
}

func errInvalidChangeLink() *Error {
	return newErr(CodeInvalidToken, "the link is invalid, used or expired")
}

// ConfirmEmailChange redeems the new address's link or the current
// address's approval. Once every proof the change needs is in, the
// account moves to the new address (verified), the old address gets a
// notice with a link that undoes the change within
// Account.EmailChangeUndo, and a user_updated event goes out. A change
// that can no longer apply (the address was taken meanwhile, the account
// changed address, the link expired) is CodeInvalidToken.
func (s *SelfService) ConfirmEmailChange(ctx context.Context, r EmailLinkRequest) (st EmailChangeStatus, err error) {
	defer func() { s.metrics.result("email_change_confirm", err) }()
	t, ch, err := s.changeByLink(ctx, r.Token, TokenEmailChange, TokenEmailChangeConfirm)
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	if !ch.AppliedAt.IsZero() || !ch.UndoneAt.IsZero() || !now.Before(ch.ExpiresAt) {
		return "", errInvalidChangeLink()
	}
	step := EmailChangeVerified
	if t.Kind == TokenEmailChangeConfirm {
		step = EmailChangeConfirmed
	}
	ch, err = s.changes.MarkEmailChange(ctx, ch.ID, step, now)
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return "", errInvalidChangeLink()
	}
	if err != nil {
		return "", err
	}
	if step == EmailChangeConfirmed {
		s.outcome(ctx, ch.EvaluationID, engine.OutcomeStepUpPassed)
	}
	if ch.VerifiedAt.IsZero() || ch.ConfirmRequired && ch.ConfirmedAt.IsZero() {
		return EmailChangePending, nil
	}
	undo := s.cfg.Account.EmailChangeUndo
	switch err := s.changes.ApplyEmailChange(ctx, ch.ID, now, now.Add(undo)); {
	case errors.Is(err, ErrEmailTaken), errors.Is(err, ErrConflict):
		return "", errInvalidChangeLink()
	case err != nil:
		return "", err
	}
	u, err := s.users.UserByID(ctx, ch.UserID)
	if err != nil {
		return "", err
	}
	utok, err := s.issueChangeLink(ctx, TokenEmailChangeUndo, ch, undo)
	if err != nil {
		return "", err
	}
	rc := s.requestContext(r.Client)
	s.deliver(ctx, mail.KindEmailChanged, ch.OldEmail, func() (mail.Message, error) {
		return s.render.EmailChanged(ch.OldEmail, mail.EmailChangeData{Token: utok, ExpiresIn: undo, NewAddress: ch.NewEmail, Context: rc})
	})
	s.emit(secevent.UserUpdated, &u, r.Client, "", map[string]string{"fields": "email", "change_id": ch.ID})
	return EmailChangeApplied, nil
}

// UndoEmailChangeResult says what an undo did.
type UndoEmailChangeResult struct {
	SessionsRevoked int
	ResetSent       bool
}

// UndoEmailChange redeems the undo link mailed to the old address: within
// the window, the account goes back to it, every session ends (whoever
// changed the address is signed out) and a password reset link goes to
// the restored address. Once undone, or past the window, or when the
// account's address changed again, it is CodeInvalidToken.
func (s *SelfService) UndoEmailChange(ctx context.Context, r EmailLinkRequest) (res *UndoEmailChangeResult, err error) {
	defer func() { s.metrics.result("email_change_undo", err) }()
	_, ch, err := s.changeByLink(ctx, r.Token, TokenEmailChangeUndo)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	switch err := s.changes.UndoEmailChange(ctx, ch.ID, now); {
	case errors.Is(err, ErrEmailTaken), errors.Is(err, ErrConflict):
		return nil, errInvalidChangeLink()
	case err != nil:
		return nil, err
	}
	u, err := s.users.UserByID(ctx, ch.UserID)
	if err != nil {
		return nil, err
	}
	n, err := s.sessions.RevokeOtherSessions(ctx, u.ID, "", now)
	if err != nil {
		return nil, err
	}
	res = &UndoEmailChangeResult{SessionsRevoked: n, ResetSent: s.mailReset(ctx, &u, r.Client)}
	s.emit(secevent.UserUpdated, &u, r.Client, "", map[string]string{"fields": "email", "change_id": ch.ID, "action": "email_change_undone"})
	s.emit(secevent.SessionsRevoked, &u, r.Client, "", map[string]string{"reason": "email_change_undone", "count": strconv.Itoa(n)})
	return res, nil
}
