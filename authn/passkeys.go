package authn

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/passkey"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
)

// FactorPasskey is a passkey assertion in the attempt history.
const FactorPasskey Factor = "passkey"

// MethodPasskey is a passkey: a first factor of its own (passwordless,
// conditional UI) and a second factor after a password.
const MethodPasskey Method = "passkey"

// MaxPasskeyName bounds a passkey's name, in bytes.
const MaxPasskeyName = 64

// Passkeys is the passkey surface: registering, listing, renaming and
// removing the passkeys of a signed-in account, and signing in with one
// (passwordless with a discoverable credential, or as the second factor
// of a flow). It is one service because both halves share the
// ceremonies, the credential store and the single-use ceremony states;
// it continues SignIn's flows and uses Account's re-authentication rule.
// Services.Passkeys is nil unless passkeys are configured (Config.Passkeys
// and Deps.Passkeys).
type Passkeys struct {
	*core
	signin *SignIn
	store  PasskeyBackend
	cer    *passkey.Ceremonies
	// handleKey keys the WebAuthn user handles (userHandle) and
	// challengeKey the ids of ceremony states.
	handleKey []byte
}

func newPasskeys(c *core, si *SignIn, store PasskeyBackend, cfg passkey.Config, codeKey []byte) (*Passkeys, error) {
	if store == nil || !cfg.Enabled() {
		return nil, nil
	}
	cer, err := passkey.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Passkeys{core: c, signin: si, store: store, cer: cer,
		handleKey: deriveKey(codeKey, "riskauth/authn passkey user handle")}, nil
}

// userHandle is the account's WebAuthn user handle: a keyed hash of its
// id, so it carries nothing personal, needs no column, and cannot be
// guessed for another account.
func (s *Passkeys) userHandle(userID string) []byte {
	m := hmac.New(sha256.New, s.handleKey)
	m.Write([]byte(userID))
	return m.Sum(nil)
}

// PasskeyInfo is one passkey as the account shows it.
type PasskeyInfo struct {
	// ID is the credential id, base64url without padding: the path id of
	// rename and removal.
	ID             string
	Name           string
	CreatedAt      time.Time
	LastUsedAt     time.Time
	BackupEligible bool
	Synced         bool
	Transports     []string
	CloneWarnings  int
}

func passkeyInfo(p Passkey) PasskeyInfo {
	return PasskeyInfo{ID: base64.RawURLEncoding.EncodeToString(p.ID), Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt,
		BackupEligible: p.BackupEligible, Synced: p.BackupState, Transports: p.Transports, CloneWarnings: p.CloneWarnings}
}

// PasskeyList is the account's passkeys and whether to offer creating one.
type PasskeyList struct {
	Passkeys []PasskeyInfo
	// Offer: the pages should offer to create a passkey now — the
	// account has none, its address is verified, and it was never
	// offered (the offer is made once: DismissPasskeyOffer, or a
	// registration, records it).
	Offer bool
}

// ListPasskeys returns the caller's passkeys and the offer flag.
func (s *Passkeys) ListPasskeys(ctx context.Context, sessionToken string) (l *PasskeyList, err error) {
	defer func() { s.metrics.result("passkey_list", err) }()
	_, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	ps, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	l = &PasskeyList{Passkeys: make([]PasskeyInfo, len(ps))}
	for i, p := range ps {
		l.Passkeys[i] = passkeyInfo(p)
	}
	if len(ps) == 0 && !u.EmailVerifiedAt.IsZero() {
		offered, err := s.store.PasskeyOffered(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		l.Offer = !offered
	}
	return l, nil
}

// DismissPasskeyOffer records that the offer to create a passkey was
// made, so it is not made again.
func (s *Passkeys) DismissPasskeyOffer(ctx context.Context, sessionToken string) (err error) {
	defer func() { s.metrics.result("passkey_offer_dismiss", err) }()
	_, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return err
	}
	return s.store.SetPasskeyOffered(ctx, u.ID, s.clock.Now())
}

// PasskeyCeremony is the first half of a ceremony, for the browser:
// Options go to navigator.credentials (create or get), Handle comes back
// with the answer, before ExpiresAt.
type PasskeyCeremony struct {
	Handle    string
	Options   []byte
	ExpiresAt time.Time
}

// begin stores the ceremony's state under a keyed hash of a new handle.
func (s *Passkeys) begin(ctx context.Context, kind, userID, flowID string, opts []byte, st passkey.State) (*PasskeyCeremony, error) {
	h, err := token.New()
	if err != nil {
		return nil, err
	}
	if err := s.store.SaveChallenge(ctx, PasskeyChallenge{ID: flowKey(h), Kind: kind, UserID: userID, FlowID: flowID,
		Data: st.Data, ExpiresAt: st.ExpiresAt}); err != nil {
		return nil, err
	}
	return &PasskeyCeremony{Handle: h, Options: opts, ExpiresAt: st.ExpiresAt}, nil
}

// take spends the ceremony of handle, which must be of kind; false when
// it is unknown, spent, expired or of another kind.
func (s *Passkeys) take(ctx context.Context, handle, kind string) (PasskeyChallenge, bool, error) {
	if !token.Valid(handle) {
		return PasskeyChallenge{}, false, nil
	}
	c, err := s.store.TakeChallenge(ctx, flowKey(handle), s.clock.Now())
	if errors.Is(err, ErrNotFound) {
		return PasskeyChallenge{}, false, nil
	}
	if err != nil {
		return PasskeyChallenge{}, false, err
	}
	return c, c.Kind == kind, nil
}

// beginFor starts a ceremony of kind that only u's own passkeys can
// answer (a step-up, a re-authentication); none is the invalid_step
// message when u has no passkey.
func (s *Passkeys) beginFor(ctx context.Context, kind string, u *User, flowID, none string) (*PasskeyCeremony, error) {
	ps, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, newErr(CodeInvalidStep, none)
	}
	pu := s.ceremonyUser(u, ps)
	opts, st, err := s.cer.BeginLogin(&pu, passkey.MediationModal, s.clock.Now())
	if err != nil {
		return nil, err
	}
	return s.begin(ctx, kind, u.ID, flowID, opts, st)
}

// ceremonyUser is u as the ceremonies see it, with its passkeys.
func (s *Passkeys) ceremonyUser(u *User, ps []Passkey) passkey.User {
	pu := passkey.User{Handle: s.userHandle(u.ID), Name: u.Email, Credentials: make([]passkey.Credential, len(ps))}
	for i, p := range ps {
		pu.Credentials[i] = passkey.Credential{ID: p.ID, PublicKey: p.PublicKey, AAGUID: p.AAGUID, SignCount: p.SignCount,
			Transports: p.Transports, BackupEligible: p.BackupEligible, BackupState: p.BackupState, AttestationFormat: p.AttestationFormat}
	}
	return pu
}

// BeginPasskeyRegistration starts creating a passkey for the caller. Like
// every new factor it needs a verified address and a fresh session
// (Account's rule: Reauthenticate first when the sign-in is older than
// the re-authentication window, with the second factor when the account
// has one). A passkey the account has already is excluded.
func (s *Passkeys) BeginPasskeyRegistration(ctx context.Context, sessionToken string) (c *PasskeyCeremony, err error) {
	defer func() { s.metrics.result("passkey_register_begin", err) }()
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	if err := requireVerified(u); err != nil {
		return nil, err
	}
	if _, err := (&Account{core: s.core}).requireFresh(ctx, sess); err != nil {
		return nil, err
	}
	ps, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	opts, st, err := s.cer.BeginRegistration(s.ceremonyUser(u, ps), s.clock.Now())
	if err != nil {
		return nil, err
	}
	return s.begin(ctx, PasskeyRegister, u.ID, "", opts, st)
}

// FinishPasskeyRequest answers a ceremony: Handle from its begin,
// Response the browser's PublicKeyCredential as JSON.
type FinishPasskeyRequest struct {
	SessionToken string
	Handle       string
	Response     []byte
	// Name is the new passkey's name (registration only); "" names it
	// after the date.
	Name   string
	Client Client
}

// FinishPasskeyRegistration verifies the new passkey against the
// caller's ceremony, stores it, records that the offer was taken up, and
// tells the user (mail) and the SOC (mfa_enrolled, factor passkey).
func (s *Passkeys) FinishPasskeyRegistration(ctx context.Context, r FinishPasskeyRequest) (info *PasskeyInfo, err error) {
	defer func() { s.metrics.result("passkey_register_finish", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	name, err := passkeyName(r.Name, s.clock.Now())
	if err != nil {
		return nil, err
	}
	ch, ok, err := s.take(ctx, r.Handle, PasskeyRegister)
	if err != nil {
		return nil, err
	}
	if !ok || ch.UserID != u.ID {
		return nil, newErr(CodeNotFound, "no such passkey registration; start again")
	}
	ps, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	cred, err := s.cer.FinishRegistration(s.ceremonyUser(u, ps), passkey.State{Data: ch.Data, ExpiresAt: ch.ExpiresAt}, r.Response, now)
	if err != nil {
		if errors.Is(err, passkey.ErrInvalid) || errors.Is(err, passkey.ErrExpired) {
			s.log.Info("passkey registration refused", "user_id", u.ID, "err", err)
			return nil, &Error{Code: CodeInvalidRequest, Message: "the passkey could not be verified; try again", Err: err}
		}
		return nil, err
	}
	p := Passkey{ID: cred.ID, UserID: u.ID, Name: name, PublicKey: cred.PublicKey, AAGUID: cred.AAGUID, SignCount: cred.SignCount,
		Transports: cred.Transports, BackupEligible: cred.BackupEligible, BackupState: cred.BackupState,
		AttestationFormat: cred.AttestationFormat, CreatedAt: now}
	if err := s.store.AddPasskey(ctx, p); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, newErr(CodeInvalidRequest, "this passkey is registered already")
		}
		return nil, err
	}
	if err := s.store.SetPasskeyOffered(ctx, u.ID, now); err != nil {
		s.log.Warn("passkey offer not recorded", "user_id", u.ID, "err", err)
	}
	id := base64.RawURLEncoding.EncodeToString(p.ID)
	s.emit(secevent.MFAEnrolled, u, r.Client, sess.ID, map[string]string{"factor": string(FactorPasskey), "credential": id,
		"synced": fmt.Sprint(p.BackupState)})
	s.notifyMFA(ctx, u.Email, mail.MFAChangeData{Change: mail.MFAAdded, Factor: "passkey"}, r.Client)
	in := passkeyInfo(p)
	return &in, nil
}

// passkeyName checks a user's name for a passkey; "" becomes one from
// the date.
func passkeyName(name string, now time.Time) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey " + now.UTC().Format("2006-01-02"), nil
	}
	if len(name) > MaxPasskeyName || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf("a passkey name is 1-%d bytes of printable text", MaxPasskeyName),
			Fields: []engine.FieldError{{Field: "name", Message: "1-64 bytes of printable text"}}}
	}
	return name, nil
}

// passkeyID decodes a passkey's path id.
func passkeyID(id string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) == 0 || len(b) > 1023 {
		return nil, newErr(CodeNotFound, "no such passkey")
	}
	return b, nil
}

// RenamePasskey names one of the caller's passkeys.
func (s *Passkeys) RenamePasskey(ctx context.Context, sessionToken, id, name string, c Client) (err error) {
	defer func() { s.metrics.result("passkey_rename", err) }()
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return err
	}
	raw, err := passkeyID(id)
	if err != nil {
		return err
	}
	if strings.TrimSpace(name) == "" {
		return &Error{Code: CodeInvalidRequest, Message: "a passkey needs a name", Fields: []engine.FieldError{{Field: "name", Message: "1-64 bytes of printable text"}}}
	}
	if name, err = passkeyName(name, s.clock.Now()); err != nil {
		return err
	}
	if err := s.store.RenamePasskey(ctx, u.ID, raw, name); err != nil {
		if errors.Is(err, ErrNotFound) {
			return newErr(CodeNotFound, "no such passkey")
		}
		return err
	}
	s.emit(secevent.PasskeyRenamed, u, c, sess.ID, map[string]string{"credential": id})
	return nil
}

// RemovePasskeyRequest removes one of the caller's passkeys.
type RemovePasskeyRequest struct {
	SessionToken string
	ID           string
	Client       Client
}

// RemovePasskey deletes one of the caller's passkeys. Like removing any
// factor it needs a fresh session (403 reauthentication_required
// otherwise), ends every other session and rotates the acting one, and
// tells the user and the SOC (mfa_removed, factor passkey). The last
// passkey of an account without a password stays: it is the only way in.
func (s *Passkeys) RemovePasskey(ctx context.Context, r RemovePasskeyRequest) (rot *SessionRotation, err error) {
	defer func() { s.metrics.result("passkey_remove", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	raw, err := passkeyID(r.ID)
	if err != nil {
		return nil, err
	}
	if _, err := (&Account{core: s.core}).requireFresh(ctx, sess); err != nil {
		return nil, err
	}
	if u.PasswordHash == "" {
		ps, err := s.store.Passkeys(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if len(ps) == 1 && string(ps[0].ID) == string(raw) {
			return nil, newErr(CodeInvalidRequest, "this is the account's only way to sign in: add another passkey or set a password first")
		}
	}
	if err := s.store.DeletePasskey(ctx, u.ID, raw); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, newErr(CodeNotFound, "no such passkey")
		}
		return nil, err
	}
	if rot, err = s.rotateAndRevoke(ctx, sess, u, r.Client, "mfa_removed"); err != nil {
		return nil, err
	}
	s.emit(secevent.MFARemoved, u, r.Client, rot.Session.ID, map[string]string{"factor": string(FactorPasskey), "credential": r.ID})
	s.notifyMFA(ctx, u.Email, mail.MFAChangeData{Change: mail.MFARemoved, Factor: "passkey", SignedOut: rot.SessionsRevoked}, r.Client)
	return rot, nil
}

// hasPasskeys reports whether the account has a passkey (false when
// passkeys are off).
func (s *core) hasPasskeys(ctx context.Context, userID string) (bool, error) {
	if s.passkeys == nil {
		return false, nil
	}
	ps, err := s.passkeys.Passkeys(ctx, userID)
	return len(ps) > 0, err
}
