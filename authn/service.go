package authn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/authn/totp"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
)

// Risk is the part of the risk engine the flows use; *engine.Engine
// implements it. Every factor a flow checks is judged by its own
// evaluation, and each evaluation gets exactly one flow outcome.
type Risk interface {
	Evaluate(ctx context.Context, ev engine.Event) (*engine.Decision, error)
	RecordOutcome(ctx context.Context, evaluationID string, o engine.Outcome) (*engine.Pending, error)
}

// SecurityEvents receives account security events for the SOC;
// engine/alert's Sink implements it. Emit must not block.
type SecurityEvents interface {
	Emit(ev *secevent.Event)
}

// SessionBackend is the session hot path plus self-service.
type SessionBackend interface {
	SessionStore
	SessionManager
}

// Deps are the services' collaborators. One *store.SQLite or
// *store.Postgres satisfies every store field; they are separate so each
// flow's needs stay visible and a test can see what is touched.
type Deps struct {
	Users UserStore
	Flows FlowStore
	// FlowClients keeps who started each flow that asked for a code.
	FlowClients FlowClientStore
	Tokens      TokenStore
	Sessions    SessionBackend
	Attempts    AttemptStore
	TOTP        TOTPStore
	Recovery    RecoveryCodeStore
	// Counters counts events across instances: the per-address mail cap
	// and the per-identifier count of wrong passwords.
	Counters EventCounter
	// Directory serves the user administration (Services.Admin); nil
	// leaves Admin nil.
	Directory UserDirectory
	// RequiredActions, optional, keeps what an owner must do at the next
	// sign-in (mfa_required.go): an MFA reset then makes it enrol an app.
	RequiredActions RequiredActionStore

	Risk Risk
	// Hasher bounds concurrent argon2id work; Policy enforces NIST password
	// rules (lengths, breach corpus, context words).
	Hasher *password.Hasher
	Policy *password.Checker
	// Sealer encrypts TOTP secrets at rest.
	Sealer *seal.Sealer
	// RecoveryHasher keys recovery-code hashes; CodeKey (≥ 32 random bytes,
	// the same on every instance) keys email-code hashes.
	RecoveryHasher *totp.RecoveryHasher
	CodeKey        []byte

	Mailer   mail.Mailer
	Renderer *mail.Renderer
	// Events receives security events; nil drops them.
	Events SecurityEvents
	// Clock defaults to the system clock.
	Clock clock.Clock
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Metrics is optional.
	Metrics *Metrics

	// SelfService are the stores of the self-service surface; without
	// them Services.SelfService is nil.
	SelfService SelfServiceDeps
	// Privacy are the collaborators of the export and the erasure
	// (privacy.go); without its Store those answer CodeUnavailable.
	Privacy PrivacyDeps

	// Passkeys keeps passkeys and their ceremonies; with
	// Config.Passkeys it enables Services.Passkeys.
	Passkeys PasskeyBackend

	// Upstream are the upstream identity providers (signin_upstream.go)
	// and Identities the store of linked identities; with both,
	// Services.Upstream is on.
	Upstream   []UpstreamProvider
	Identities IdentityBackend
}

// Services are the flows of one authn instance: five services over one
// shared core (configuration, stores, risk engine, hasher, mail queue,
// metrics, security events). Each is safe for concurrent use and keeps
// no per-user state in memory, so every step may run on a different
// instance. Lifecycle: New, use the services, Close.
//
// The cut follows who calls and what they hold. SignIn is someone proving
// who they are and ends in a session; Registration and Recovery are the
// mailed-link flows of someone without one; Sessions is the per-request
// session lookup and the sessions list; Account is the security changes
// of a signed-in user, behind a fresh proof (Reauthenticate). A consumer
// takes the services it serves, through interfaces of its own, so no
// consumer sees the whole.
type Services struct {
	// SignIn runs one-shot and identifier-first sign-in.
	SignIn *SignIn
	// Registration creates accounts and verifies addresses.
	Registration *Registration
	// Recovery is the forgotten-password flow.
	Recovery *Recovery
	// Account is re-authentication and the security settings.
	Account *Account
	// Sessions resolves, lists and ends sessions.
	Sessions *Sessions
	// SelfService is the user's profile, devices and activity; nil
	// unless Deps.SelfService has its stores.
	SelfService *SelfService
	// Admin is the user administration (admin.go); nil without
	// Deps.Directory.
	Admin *Admin
	// Passkeys registers, manages and signs in with passkeys
	// (passkeys.go); nil unless Config.Passkeys and Deps.Passkeys are set.
	Passkeys *Passkeys
	// Upstream signs in through upstream identity providers and lists
	// and unlinks the owner's linked identities; nil unless
	// Deps.Upstream and Deps.Identities are set.
	Upstream *Upstream

	mail *mailQueue
}

// New checks cfg and deps, builds the shared core and the services over
// it, and starts the mail workers.
func New(cfg Config, d Deps) (*Services, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("authn: config: %w", err)
	}
	switch {
	case d.Users == nil || d.Flows == nil || d.Tokens == nil || d.Sessions == nil || d.Attempts == nil || d.TOTP == nil || d.Recovery == nil ||
		d.Counters == nil || d.FlowClients == nil:
		return nil, errors.New("authn: every store is required")
	case d.Risk == nil:
		return nil, errors.New("authn: Risk is required")
	case d.Hasher == nil || d.Policy == nil:
		return nil, errors.New("authn: Hasher and Policy are required")
	case d.Sealer == nil || d.RecoveryHasher == nil:
		return nil, errors.New("authn: Sealer and RecoveryHasher are required")
	case len(d.CodeKey) < token.MinCodeKeyLen:
		return nil, fmt.Errorf("authn: CodeKey must be at least %d bytes", token.MinCodeKeyLen)
	case d.Mailer == nil || d.Renderer == nil:
		return nil, errors.New("authn: Mailer and Renderer are required")
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	c := &core{
		cfg: cfg, clock: d.Clock, log: d.Logger, metrics: d.Metrics, risk: d.Risk,
		users: d.Users, tokens: d.Tokens, sessions: d.Sessions, attempts: d.Attempts, totps: d.TOTP, recovery: d.Recovery,
		counters: d.Counters, counterMAC: deriveKey(d.CodeKey, "riskauth/authn counters"), hasher: d.Hasher, policy: d.Policy, sealer: d.Sealer, rhash: d.RecoveryHasher,
		render: d.Renderer, events: d.Events,
	}
	c.required = d.RequiredActions
	c.ids = d.Identities
	c.mail = newMailQueue(d.Mailer, cfg.MailQueue, cfg.MailWorkers, d.Logger, d.Metrics)
	c.self = selfStores{devices: d.SelfService.Devices, activity: d.SelfService.Activity, profiler: d.SelfService.Profiler,
		consents: d.SelfService.Consents, profiles: d.SelfService.Profiles}
	c.priv = d.Privacy
	var self *SelfService
	if d.SelfService.Profiles != nil {
		self = &SelfService{core: c, profiles: d.SelfService.Profiles, account: cfg.Account, changes: d.SelfService.EmailChanges}
	}
	var admin *Admin
	if d.Directory != nil {
		admin = &Admin{core: c, dir: d.Directory, profiles: d.SelfService.Profiles}
	}
	signin := &SignIn{core: c, flows: d.Flows, clients: d.FlowClients, codeKey: append([]byte(nil), d.CodeKey...),
		bindKey: deriveKey(d.CodeKey, "riskauth/authn flow binding")}
	pk, err := newPasskeys(c, signin, d.Passkeys, cfg.Passkeys, d.CodeKey)
	if err != nil {
		return nil, fmt.Errorf("authn: passkeys: %w", err)
	}
	if pk != nil {
		c.passkeys = d.Passkeys
	}
	if len(d.Upstream) > 0 && d.Identities != nil {
		signin.upstream = &Upstream{signin: signin, providers: d.Upstream}
	}
	return &Services{
		Upstream:     signin.upstream,
		SelfService:  self,
		Admin:        admin,
		Passkeys:     pk,
		SignIn:       signin,
		Registration: &Registration{core: c},
		Recovery:     &Recovery{core: c},
		Account:      &Account{core: c},
		Sessions:     &Sessions{core: c, uses: newSessionUses()},
		mail:         c.mail,
	}, nil
}

// Flush waits until every mail queued so far has been handed to the
// Mailer (or ctx ends). Graceful shutdown and tests use it.
func (s *Services) Flush(ctx context.Context) error { return s.mail.flush(ctx) }

// Close stops accepting mail, waits for the queue to drain (bounded by
// ctx) and stops the workers. Flows called after Close still work but drop
// their mail. It is safe to call more than once.
func (s *Services) Close(ctx context.Context) error { return s.mail.close(ctx) }
