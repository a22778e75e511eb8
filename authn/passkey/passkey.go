package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// DefaultChallengeTTL is how long a ceremony's challenge may be answered
// when Config.ChallengeTTL is zero: long enough to find and touch an
// authenticator, short enough that a captured challenge is soon useless.
const DefaultChallengeTTL = 5 * time.Minute

// MaxChallengeTTL bounds Config.ChallengeTTL (WebAuthn's recommended
// ceremony timeout ranges end at 10 minutes).
const MaxChallengeTTL = 10 * time.Minute

// Errors callers branch on. Every other failure of a response (a bad
// signature, origin, RP id, challenge, flags) wraps ErrInvalid.
var (
	// ErrInvalid: the response does not verify against the ceremony.
	ErrInvalid = errors.New("passkey: response does not verify")
	// ErrExpired: the ceremony's challenge is older than its TTL.
	ErrExpired = errors.New("passkey: ceremony expired")
	// ErrUnknownCredential: the asserted credential is not one of the
	// account's (or of any account, for a discoverable sign-in).
	ErrUnknownCredential = errors.New("passkey: unknown credential")
)

// Config is the relying party.
type Config struct {
	// RPID is the relying party id: the registrable domain passkeys are
	// bound to (example.com serves login.example.com too). Required.
	RPID string `yaml:"rp_id"`
	// RPName is shown by the authenticator when a passkey is created.
	// Defaults to RPID.
	RPName string `yaml:"rp_name"`
	// Origins are the exact origins (scheme://host[:port]) pages that run
	// the ceremonies are served from. Required.
	Origins []string `yaml:"origins"`
	// ChallengeTTL is how long a challenge may be answered. Default
	// DefaultChallengeTTL, at most MaxChallengeTTL.
	ChallengeTTL time.Duration `yaml:"challenge_ttl"`
}

// Enabled reports whether passkeys are configured.
func (c Config) Enabled() bool { return c.RPID != "" }

// Validate checks c as New would, with the defaults applied.
func (c Config) Validate() error {
	_, err := New(c)
	return err
}

// Ceremonies runs registrations and assertions for one relying party. It
// is safe for concurrent use and keeps no state between calls.
type Ceremonies struct {
	w   *webauthn.WebAuthn
	ttl time.Duration
}

// New checks cfg and builds the ceremonies.
func New(cfg Config) (*Ceremonies, error) {
	if cfg.RPID == "" {
		return nil, errors.New("passkey: rp_id is required")
	}
	if err := protocol.ValidateRPID(cfg.RPID); err != nil {
		return nil, fmt.Errorf("passkey: rp_id %q: %w", cfg.RPID, err)
	}
	if len(cfg.Origins) == 0 {
		return nil, errors.New("passkey: at least one origin is required")
	}
	for _, o := range cfg.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("passkey: origin %q: want scheme://host[:port]", o)
		}
	}
	if cfg.RPName == "" {
		cfg.RPName = cfg.RPID
	}
	if cfg.ChallengeTTL == 0 {
		cfg.ChallengeTTL = DefaultChallengeTTL
	}
	if cfg.ChallengeTTL < 0 || cfg.ChallengeTTL > MaxChallengeTTL {
		return nil, fmt.Errorf("passkey: challenge_ttl %s outside (0, %s]", cfg.ChallengeTTL, MaxChallengeTTL)
	}
	w, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPName,
		RPOrigins:     cfg.Origins,
		// Passkeys: discoverable, and user verification always (a PIN or
		// biometric on the authenticator), which makes a passkey a
		// multi-factor cryptographic authenticator (NIST SP 800-63B AAL2).
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.ChallengeTTL, TimeoutUVD: cfg.ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.ChallengeTTL, TimeoutUVD: cfg.ChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: %w", err)
	}
	return &Ceremonies{w: w, ttl: cfg.ChallengeTTL}, nil
}

// TTL is how long a challenge may be answered.
func (c *Ceremonies) TTL() time.Duration { return c.ttl }

// Credential is a registered passkey as the ceremonies need it.
type Credential struct {
	ID        []byte
	PublicKey []byte
	// AAGUID names the authenticator model (zero for most synced
	// passkeys, which attest nothing).
	AAGUID []byte
	// SignCount is the last signature counter seen; 0 for authenticators
	// that keep none (synced passkeys).
	SignCount  uint32
	Transports []string
	// BackupEligible: the credential may be synced (a multi-device
	// passkey); fixed at registration. BackupState: it is backed up now.
	BackupEligible bool
	BackupState    bool
	// AttestationFormat is the attestation statement's format ("none").
	AttestationFormat string
}

// User is an account as a ceremony sees it.
type User struct {
	// Handle is the WebAuthn user handle: opaque, at most 64 bytes, never
	// personal data (authenticators may show or sync it).
	Handle []byte
	// Name is what the authenticator shows for the account (the email).
	Name        string
	Credentials []Credential
}

// webUser adapts User to the library's interface.
type webUser struct{ u *User }

func (w webUser) WebAuthnID() []byte          { return w.u.Handle }
func (w webUser) WebAuthnName() string        { return w.u.Name }
func (w webUser) WebAuthnDisplayName() string { return w.u.Name }
func (w webUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(w.u.Credentials))
	for i, c := range w.u.Credentials {
		out[i] = toLib(c)
	}
	return out
}

func toLib(c Credential) webauthn.Credential {
	ts := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		ts[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{ID: c.ID, PublicKey: c.PublicKey, AttestationFormat: c.AttestationFormat, Transport: ts,
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: c.BackupEligible, BackupState: c.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount}}
}

// State is what the server keeps of a ceremony between its two steps:
// the library's session data (challenge, user, allowed credentials) as
// opaque bytes, and when it stops being answerable. It must be stored
// where the client cannot read or change it, and used once.
type State struct {
	Data      []byte
	ExpiresAt time.Time
}

func (c *Ceremonies) state(sd *webauthn.SessionData, now time.Time) (State, error) {
	sd.Expires = time.Time{} // judged on the caller's clock, not the library's
	b, err := json.Marshal(sd)
	if err != nil {
		return State{}, fmt.Errorf("passkey: encode state: %w", err)
	}
	return State{Data: b, ExpiresAt: now.Add(c.ttl)}, nil
}

func (c *Ceremonies) session(st State, now time.Time) (webauthn.SessionData, error) {
	if !now.Before(st.ExpiresAt) {
		return webauthn.SessionData{}, ErrExpired
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal(st.Data, &sd); err != nil {
		return webauthn.SessionData{}, fmt.Errorf("passkey: decode state: %w", err)
	}
	return sd, nil
}

// BeginRegistration returns the options for navigator.credentials.create
// (JSON: {"publicKey": {...}}) for u, excluding the passkeys u already
// has, and the state to keep until FinishRegistration.
func (c *Ceremonies) BeginRegistration(u User, now time.Time) (options []byte, st State, err error) {
	exclude := webauthn.Credentials(webUser{&u}.WebAuthnCredentials()).CredentialDescriptors()
	cc, sd, err := c.w.BeginRegistration(webUser{&u}, webauthn.WithExclusions(exclude),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return nil, State{}, fmt.Errorf("passkey: begin registration: %w", err)
	}
	if options, err = json.Marshal(cc); err != nil {
		return nil, State{}, fmt.Errorf("passkey: encode options: %w", err)
	}
	st, err = c.state(sd, now)
	return options, st, err
}

// FinishRegistration verifies the response of navigator.credentials.create
// (the PublicKeyCredential as JSON) against st, for u. The credential is
// new: the caller stores it (and refuses an id already registered).
func (c *Ceremonies) FinishRegistration(u User, st State, response []byte, now time.Time) (Credential, error) {
	sd, err := c.session(st, now)
	if err != nil {
		return Credential{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return Credential{}, invalid(err)
	}
	cred, err := c.w.CreateCredential(webUser{&u}, sd, parsed)
	if err != nil {
		return Credential{}, invalid(err)
	}
	return fromLib(cred), nil
}

func fromLib(cred *webauthn.Credential) Credential {
	ts := make([]string, len(cred.Transport))
	for i, t := range cred.Transport {
		ts[i] = string(t)
	}
	return Credential{ID: cred.ID, PublicKey: cred.PublicKey, AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount,
		Transports: ts, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, AttestationFormat: cred.AttestationFormat}
}

// Mediation asks the browser how to show a sign-in ceremony.
type Mediation string

// Mediations of a sign-in.
const (
	// MediationModal: a button opens the browser's passkey dialog.
	MediationModal Mediation = ""
	// MediationConditional: passkeys are offered in the autofill of the
	// username field (conditional UI).
	MediationConditional Mediation = "conditional"
)

// BeginLogin returns the options for navigator.credentials.get (JSON:
// {"publicKey": {...}, "mediation": ...}) and the state to keep until
// FinishLogin. With u nil the ceremony is discoverable (any passkey of
// this relying party, the account told by the assertion); with u, only
// u's passkeys are allowed (a step-up of a known account).
func (c *Ceremonies) BeginLogin(u *User, m Mediation, now time.Time) (options []byte, st State, err error) {
	var (
		ca *protocol.CredentialAssertion
		sd *webauthn.SessionData
	)
	med := protocol.CredentialMediationRequirement(m)
	if u == nil {
		ca, sd, err = c.w.BeginDiscoverableMediatedLogin(med)
	} else {
		ca, sd, err = c.w.BeginMediatedLogin(webUser{u}, med)
	}
	if err != nil {
		return nil, State{}, fmt.Errorf("passkey: begin login: %w", err)
	}
	if options, err = json.Marshal(ca); err != nil {
		return nil, State{}, fmt.Errorf("passkey: encode options: %w", err)
	}
	st, err = c.state(sd, now)
	return options, st, err
}

// Assertion is a verified sign-in with a passkey.
type Assertion struct {
	// UserHandle is the account's handle the assertion proved.
	UserHandle []byte
	// Credential is the passkey used, its SignCount and BackupState
	// updated from the assertion (SignCount unchanged on a regression).
	Credential Credential
	// SignCountRegressed: the authenticator's counter did not go up
	// although one of the two counters is non-zero — two copies of the
	// private key may exist (a cloned authenticator).
	SignCountRegressed bool
	// UserVerified: the authenticator verified the user (PIN,
	// biometric); always true, since the ceremonies require it.
	UserVerified bool
}

// Lookup finds the account of a discoverable assertion from the
// credential id and user handle it carries; ErrUnknownCredential when
// none matches.
type Lookup func(credentialID, userHandle []byte) (User, error)

// FinishLogin verifies the response of navigator.credentials.get (the
// PublicKeyCredential as JSON) against st. lookup finds the account: for
// a discoverable ceremony by the asserted ids, for a step-up it returns
// the account the ceremony began with.
func (c *Ceremonies) FinishLogin(st State, response []byte, now time.Time, lookup Lookup) (Assertion, error) {
	sd, err := c.session(st, now)
	if err != nil {
		return Assertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return Assertion{}, invalid(err)
	}
	u, err := lookup(parsed.RawID, parsed.Response.UserHandle)
	if err != nil {
		return Assertion{}, err
	}
	if len(sd.UserID) > 0 && !bytes.Equal(sd.UserID, u.Handle) {
		return Assertion{}, ErrUnknownCredential
	}
	var cred *webauthn.Credential
	if len(sd.UserID) == 0 {
		_, cred, err = c.w.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return webUser{&u}, nil }, sd, parsed)
	} else {
		cred, err = c.w.ValidateLogin(webUser{&u}, sd, parsed)
	}
	if err != nil {
		var unknown *protocol.ErrorUnknownCredential
		if errors.As(err, &unknown) {
			return Assertion{}, ErrUnknownCredential
		}
		return Assertion{}, invalid(err)
	}
	return Assertion{UserHandle: u.Handle, Credential: fromLib(cred), SignCountRegressed: cred.Authenticator.CloneWarning,
		UserVerified: parsed.Response.AuthenticatorData.Flags.HasUserVerified()}, nil
}

// invalid wraps a library error as ErrInvalid, keeping its details
// (protocol.Error's DevInfo) for the log.
func invalid(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, pe.Details, pe.DevInfo)
	}
	return fmt.Errorf("%w: %v", ErrInvalid, err)
}
