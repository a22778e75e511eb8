package authn

import (
	"context"
	"errors"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// The owner's linked upstream identities (signin_upstream.go): listed
// with the session, unlinked behind a fresh sign-in, never the last way
// into the account.

// Identities lists the linked identities of the session's account,
// oldest first (none when the server keeps no links).
func (s *Account) Identities(ctx context.Context, sessionToken string) (ids []LinkedIdentity, err error) {
	defer func() { s.metrics.result("identities", err) }()
	_, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	if s.ids == nil {
		return []LinkedIdentity{}, nil
	}
	ids, err = s.ids.Identities(ctx, u.ID)
	if ids == nil {
		ids = []LinkedIdentity{}
	}
	return ids, err
}

// UnlinkIdentityRequest unlinks one identity.
type UnlinkIdentityRequest struct {
	SessionToken string
	// ID is the link's id (LinkedIdentity.ID).
	ID     string
	Client Client
}

// UnlinkIdentity removes the link ID of the session's account. The
// session must be fresh (CodeReauthenticationRequired), and the link must
// not be the account's last way to sign in — no password, no passkey, no
// other link — (CodeInvalidRequest); an unknown id is CodeNotFound. The
// change is audited (identity_unlinked) and the owner mailed.
func (s *Account) UnlinkIdentity(ctx context.Context, r UnlinkIdentityRequest) (err error) {
	defer func() { s.metrics.result("identity_unlink", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return err
	}
	if _, err := s.requireFresh(ctx, sess); err != nil {
		return err
	}
	if s.ids == nil {
		return newErr(CodeNotFound, "no such identity")
	}
	ids, err := s.ids.Identities(ctx, u.ID)
	if err != nil {
		return err
	}
	var li *LinkedIdentity
	for i := range ids {
		if ids[i].ID == r.ID {
			li = &ids[i]
		}
	}
	if li == nil {
		return newErr(CodeNotFound, "no such identity")
	}
	if len(ids) == 1 && u.PasswordHash == "" {
		pk, err := s.hasPasskeys(ctx, u.ID)
		if err != nil {
			return err
		}
		if !pk {
			return newErr(CodeInvalidRequest, "this is the account's only way to sign in: set a password or add a passkey first")
		}
	}
	if err := s.ids.UnlinkIdentity(ctx, u.ID, li.ID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return newErr(CodeNotFound, "no such identity")
		}
		return err
	}
	s.emit(secevent.IdentityUnlinked, u, r.Client, sess.ID, map[string]string{"provider": li.Provider, "issuer": li.Issuer,
		"identity_id": li.ID, "via": "owner"})
	s.notifyMFA(ctx, u.Email, mail.MFAChangeData{Change: mail.IdentityUnlinked, Factor: li.Provider}, r.Client)
	return nil
}
