package daemon

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/oidc"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/store"
	"github.com/riskauth/riskauth/authn/totp"
	"github.com/riskauth/riskauth/engine/alert"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/httpapi"
	"github.com/riskauth/riskauth/internal/leaf/secretfile"
	"github.com/riskauth/riskauth/internal/tracing"
)

// Files in the data dir that hold generated secrets (embedded mode only).
const (
	sealKeysFile    = "seal.keys"
	authnSecretFile = "authn.key"
	accessKeysFile  = "access-token.keys"
	authnDBFile     = "authn.db"
)

// authnStore is what both account stores provide.
type authnStore interface {
	authn.UserStore
	authn.FlowStore
	authn.TokenStore
	authn.SessionBackend
	authn.AttemptStore
	authn.TOTPStore
	authn.RecoveryCodeStore
	authn.EventCounter
	authn.FlowClientStore
	authn.ProfileStore
	authn.DeviceStore
	authn.ActivityStore
	authn.ConsentStore
	authn.EmailChangeStore
	authn.Sweeper
	Ping(ctx context.Context) error
	authn.UserDirectory
	authn.PasskeyBackend
	authn.IdentityBackend
	authn.ErasureStore
	authn.ErasureLocker
	authn.RequiredActionStore
	Close() error
}

var (
	_ authnStore = (*store.SQLite)(nil)
	_ authnStore = (*store.Postgres)(nil)
	// The alert sink takes authn's security events. The guard lives here,
	// where both are wired: the alert tree does not import authn.
	_ authn.SecurityEvents = (*alert.Sink)(nil)
)

// buildAuthn wires the sign-in services (store, mail, keys, hasher,
// policy, risk engine, security events) and hands each to the HTTP
// surface that serves it, with the origin and access tokens. It runs
// after the engine and the alert sink exist; what it opens goes on
// s.closers, the services last so that they drain their mail before the
// store and the mailer close.
func (s *Server) buildAuthn(ctx context.Context, cfg *config.Config, reg *prometheus.Registry, log *slog.Logger, clk clock.Clock,
	apiCfg *httpapi.Config, deps *httpapi.Deps, trc *tracing.Tracing) error {
	a := cfg.Authn
	// raw is the store as opened; st is what the services use: raw, or
	// raw with a span per call when tracing is on.
	var raw tracing.AccountStore
	system := tracing.SystemSQLite
	if a.DatabaseURL != "" {
		pg, err := store.OpenPostgres(ctx, a.DatabaseURL, store.PostgresOptions{MaxConns: a.Database.MaxConns,
			Timeouts: a.Database.Timeouts(), Metrics: s.risk.Backends})
		if err != nil {
			return fmt.Errorf("authn store: %w", err)
		}
		raw, system = pg, tracing.SystemPostgres
	} else {
		lite, err := store.OpenSQLite(ctx, filepath.Join(cfg.DataDir, authnDBFile), store.SQLiteOptions{ReadConns: a.Database.MaxConns,
			Timeouts: a.Database.Timeouts(), Metrics: s.risk.Backends})
		if err != nil {
			return fmt.Errorf("authn store: %w", err)
		}
		raw = lite
	}
	s.closers = append(s.closers, raw.Close)
	var st authnStore = raw
	if trc != nil {
		st = trc.WrapStore(raw, system)
	}

	var mailer mail.Mailer
	if a.SMTPURL != "" {
		sc, err := mail.ParseSMTPURL(a.SMTPURL)
		if err != nil {
			return err
		}
		if mailer, err = mail.NewSMTP(sc, nil, log); err != nil {
			return err
		}
	} else {
		ob, err := mail.NewOutbox(cfg.DataDir, nil, log)
		if err != nil {
			return err
		}
		s.closers = append(s.closers, ob.Close)
		mailer = ob
		log.Warn("no RISKAUTH_SMTP_URL configured: mail goes to the outbox in the data dir", "file", ob.Path())
	}
	renderer, err := mail.NewRenderer(mail.RendererConfig{PublicOrigin: a.PublicOrigin, ServiceName: a.ServiceName, SupportAddress: a.SupportAddress,
		Paths: a.MailPaths.Paths()})
	if err != nil {
		return fmt.Errorf("%w (set RISKAUTH_PUBLIC_ORIGIN)", err)
	}

	sealer, err := sealerFor(a.SealKeys, filepath.Join(cfg.DataDir, sealKeysFile), log)
	if err != nil {
		return err
	}
	master, err := secretfile.Secret(a.Secret, filepath.Join(cfg.DataDir, authnSecretFile), log)
	if err != nil {
		return err
	}
	// Two keys from one secret, so an operator manages one value; HKDF
	// keeps them independent.
	codeKey, err := hkdf.Key(sha256.New, []byte(master), nil, "riskauth/authn email codes", 32)
	if err != nil {
		return err
	}
	recoveryKey, err := hkdf.Key(sha256.New, []byte(master), nil, "riskauth/authn recovery codes", 32)
	if err != nil {
		return err
	}
	rh, err := totp.NewRecoveryHasher(recoveryKey)
	if err != nil {
		return err
	}

	h := a.Hasher
	concurrency := h.Concurrency
	if concurrency == 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	params := password.DefaultParams()
	params.Memory, params.Time, params.Threads = h.MemoryKiB, h.Time, h.Threads
	hasher, err := password.NewHasher(password.HasherConfig{Params: params, Concurrency: concurrency, MaxWait: h.MaxWait,
		Metrics: password.NewMetrics(reg)})
	if err != nil {
		return err
	}
	// The policy asks the same breach corpus as the engine's signal: the
	// embedded common-password list, the imported corpus, the range API.
	chain := s.risk.Breached
	policy, err := password.NewChecker(password.Policy{MinLength: a.Password.MinLength, MinLengthWithMFA: a.Password.MinLengthWithMFA,
		MaxLength: a.Password.MaxLength, ServiceName: a.ServiceName},
		password.BreachCheckerFunc(func(ctx context.Context, pw string) (bool, error) {
			r, err := chain.Check(ctx, pw)
			return r.Breached, err
		}))
	if err != nil {
		return err
	}

	sink, err := s.securityEvents(cfg, reg, log, clk)
	if err != nil {
		return err
	}
	// The OpenID Connect provider hears of ended sessions through the
	// events (back-channel logout); everything passes on to the sink.
	events := oidc.NewSessionWatch(sink)
	ups, err := upstreamProviders(a.Upstream, a.PublicOrigin, clk, log)
	if err != nil {
		return err
	}
	svc, err := authn.New(a.Flows(), authn.Deps{
		Users: st, Flows: st, Tokens: st, Sessions: st, Attempts: st, TOTP: st, Recovery: st, Counters: st, FlowClients: st,
		Directory: st, RequiredActions: st, Risk: s.evaluator, Hasher: hasher, Policy: policy, Sealer: sealer, RecoveryHasher: rh, CodeKey: codeKey,
		Mailer: mailer, Renderer: renderer, Events: events, Logger: log, Metrics: authn.NewMetrics(reg), Clock: clk,
		SelfService: authn.SelfServiceDeps{Profiles: st, Devices: st, Activity: st, Profiler: s.Engine, Consents: st, EmailChanges: st},
		Passkeys:    st, // on with authn.passkeys.rp_id
		Privacy:     s.privacyDeps(st, mailer),
		Upstream:    ups, Identities: st,
	})
	if err != nil {
		return err
	}
	s.Authn, s.Accounts, s.Hasher = svc, st, hasher
	s.closers = append(s.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancel()
		return svc.Close(ctx)
	})
	go retain(ctx, authn.NewRetention(a.Account, st, clk, log, reg), log)
	if s.Erasure = authn.NewErasureJob(svc, reg); s.Erasure != nil {
		go s.Erasure.Run(ctx, erasureEvery)
	}

	apiCfg.PublicOrigin = a.PublicOrigin
	apiCfg.AllowedOrigins = a.AllowedOrigins
	if rl := a.RateLimit; rl.PerIPPerMinute != nil {
		apiCfg.RateLimit = httpapi.RateLimitConfig{PerMinute: *rl.PerIPPerMinute, Burst: rl.Burst, MaxClients: rl.MaxClients}
	}
	if s.risk.Redis != nil {
		// Shared by every instance on this Redis; per instance while
		// Redis does not answer.
		deps.SharedLimiter = newRedisLimiter(s.risk.Redis, cfg.Redis.Prefix)
	}
	if apiCfg.AccessTokens, err = accessTokens(cfg, log); err != nil {
		return err
	}
	op, err := buildOIDC(a.OIDC, apiCfg.AccessTokens, st, s.evaluator, events, clk, log)
	if err != nil {
		return err
	}
	if op != nil {
		deps.OIDC, deps.Clients = op, op
		s.closers = append(s.closers, op.Close)
	}
	deps.Registration, deps.SignIn, deps.PasswordReset = svc.Registration, svc.SignIn, svc.Recovery
	deps.Sessions, deps.Account = svc.Sessions, svc.Account
	deps.SelfService = svc.SelfService
	if svc.Passkeys != nil {
		deps.Passkeys = svc.Passkeys
	}
	if svc.Upstream != nil {
		deps.Upstream = svc.Upstream
	}
	// /readyz asks both stores at once: the accounts (SQLite or
	// PostgreSQL) and the engine's state (memory or Redis).
	deps.ReadyChecks = []httpapi.ReadyCheck{{Name: "accounts", Check: st.Ping}, {Name: "state", Check: s.Engine.Ready}}
	deps.Users = svc.Admin
	return nil
}

// sealerFor uses the configured keys, else the key file in the data dir,
// generating one key there on first start.
func sealerFor(configured, file string, log *slog.Logger) (*seal.Sealer, error) {
	spec, err := keyFile(configured, file, seal.KeySize, log)
	if err != nil {
		return nil, err
	}
	keys, err := config.ParseNamedKeys(spec, seal.KeySize)
	if err != nil {
		return nil, fmt.Errorf("seal keys: %w", err)
	}
	m := make(map[string][]byte, len(keys))
	for _, k := range keys {
		m[k.ID] = k.Key
	}
	return seal.New(m, keys[0].ID)
}

// accessTokens returns the access-token configuration, nil when they are
// off: disabled, or production without configured keys (generated keys
// would differ per instance).
func accessTokens(cfg *config.Config, log *slog.Logger) (*httpapi.AccessTokenConfig, error) {
	at := cfg.Authn.AccessTokens
	if at.Disabled || (at.Keys == "" && cfg.Production()) {
		return nil, nil
	}
	spec, err := keyFile(at.Keys, filepath.Join(cfg.DataDir, accessKeysFile), ed25519.SeedSize, log)
	if err != nil {
		return nil, err
	}
	keys, err := config.ParseNamedKeys(spec, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("access token keys: %w", err)
	}
	out := &httpapi.AccessTokenConfig{Issuer: cfg.Authn.PublicOrigin, Audience: at.Audience, TTL: at.TTL}
	for _, k := range keys {
		out.Keys = append(out.Keys, httpapi.AccessTokenKey{ID: k.ID, Key: ed25519.NewKeyFromSeed(k.Key)})
	}
	return out, nil
}

// keyFile returns configured when set; otherwise the "id:base64" key list
// kept in file, generating one random key of size bytes there (0600) on
// first start. The id carries the creation date, so a rotated-in key
// sorts after the one it replaces.
func keyFile(configured, file string, size int, log *slog.Logger) (string, error) {
	if configured != "" {
		return configured, nil
	}
	return secretfile.LoadOrGenerate(file, func() string {
		return "k" + time.Now().UTC().Format("20060102") + ":" + secretfile.RandomBase64(size)
	}, log, "generated keys")
}

// sweepEvery is how often the retention job runs (authn.Retention.RunAll:
// the activity, abandoned registrations, expired sessions, tokens and
// flows, old attempts); lookups check deadlines themselves, this only
// bounds table growth.
const sweepEvery = time.Hour

// retain runs the retention job every sweepEvery; with several instances
// on PostgreSQL one at a time deletes the activity and the abandoned
// registrations.
func retain(ctx context.Context, r *authn.Retention, log *slog.Logger) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := r.RunAll(ctx); err != nil {
			log.Warn("retention", "err", err)
		} else if n > 0 {
			log.Info("retention", "deleted", n)
		}
	}
}

// erasureEvery is how often due erasure requests are carried out: the
// grace period is days, so an account goes within minutes of its date.
const erasureEvery = 5 * time.Minute

// privacyDeps wires the erasure: the account store, the engine's state,
// and what publishes the tombstone or scrubs local files (the alert sink
// and the development outbox), where they can.
func (s *Server) privacyDeps(st authnStore, mailer mail.Mailer) authn.PrivacyDeps {
	d := authn.PrivacyDeps{Store: st, Locker: st, State: s.Engine}
	if ev, ok := any(s.Sink).(authn.ErasureEvents); ok && s.Sink != nil {
		d.Events = ev
	}
	if f, ok := mailer.(authn.ErasureEvents); ok {
		d.Files = append(d.Files, f)
	}
	return d
}
