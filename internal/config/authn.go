package config

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/passkey"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/upstream"
)

// EnvProduction is the RISKAUTH_ENV value under which riskauthd refuses to
// start on generated secrets and local mail: every instance of a
// production deployment must share its keys, and users must get their
// mail.
const EnvProduction = "production"

// AuthnConfig configures sign-in, registration and self-service.
type AuthnConfig struct {
	// DatabaseURL switches the account store from SQLite (authn.db in the
	// data dir) to PostgreSQL: a postgres:// URL (RISKAUTH_DATABASE_URL).
	// It may hold a password and is never logged.
	DatabaseURL string `yaml:"database_url"`
	// Database bounds the account store's calls and pool (store.go).
	Database StoreConfig `yaml:"database"`
	// PublicOrigin is where users reach the service, used for links in
	// mail and the CSRF origin check (RISKAUTH_PUBLIC_ORIGIN). Default:
	// http:// and the listen address, 0.0.0.0 and :: read as 127.0.0.1.
	PublicOrigin string `yaml:"public_origin"`
	// AllowedOrigins are further origins whose pages may call the sign-in
	// API with the session cookie (RISKAUTH_ALLOWED_ORIGINS).
	AllowedOrigins []string `yaml:"allowed_origins"`
	// SMTPURL sends mail through an SMTP server (RISKAUTH_SMTP_URL, see
	// mail.ParseSMTPURL); without it mail is appended to outbox.jsonl in
	// the data dir.
	SMTPURL string `yaml:"smtp_url"`
	// SealKeys encrypt TOTP secrets at rest: "id:base64key,..." with
	// 32-byte keys, the first one sealing (RISKAUTH_SEAL_KEYS). Without
	// them riskauthd generates one into seal.keys in the data dir, except
	// in production, where they are required.
	SealKeys string `yaml:"seal_keys"`
	// Secret (32+ characters, the same on every instance) keys the hashes
	// of email codes and recovery codes (RISKAUTH_AUTHN_SECRET). Generated
	// into authn.key in the data dir when absent, except in production.
	Secret string `yaml:"secret"`
	// SupportAddress, optional, is shown in security notifications.
	SupportAddress string `yaml:"support_address"`
	// Hasher bounds argon2id.
	Hasher HasherConfig `yaml:"hasher"`
	// Password is the password policy (NIST SP 800-63B rev 4 defaults).
	Password PasswordPolicyConfig `yaml:"password"`
	// AccessTokens configures the optional short-lived JWTs.
	AccessTokens AccessTokenConfig `yaml:"access_tokens"`
	// OIDC is the OpenID Connect provider (oidc.go).
	OIDC OIDCConfig `yaml:"oidc"`
	// Upstream are the identity providers users may sign in with
	// (upstream.go, docs/oidc.md); secrets from
	// RISKAUTH_UPSTREAM_<NAME>_CLIENT_SECRET.
	Upstream []upstream.ProviderConfig `yaml:"upstream"`

	// Config is the flow tuning, inline under authn.: service_name
	// (RISKAUTH_SERVICE_NAME, default "riskauth"), flow and code lifetimes,
	// sessions, lockout, the mail queue. Zero fields take
	// authn.DefaultConfig()'s values (see docs/configuration.md).
	authn.Config `yaml:",inline"`
	// RateLimit is the per-client-IP limit on the unauthenticated sign-in
	// routes, enforced in each instance's memory.
	RateLimit RateLimitConfig `yaml:"rate_limit"`
	// MailPaths are where the links in mail point (account.go).
	MailPaths MailPathsConfig `yaml:"mail_paths"`

	// explicitOrigin is PublicOrigin as configured, before the default.
	explicitOrigin string
}

// HasherConfig sizes argon2id. Defaults: 19 MiB, 2 passes, 1 lane (OWASP's
// argon2id minimum), at most GOMAXPROCS hashes at a time.
type HasherConfig struct {
	MemoryKiB   uint32 `yaml:"memory_kib"`
	Time        uint32 `yaml:"time"`
	Threads     uint8  `yaml:"threads"`
	Concurrency int    `yaml:"concurrency"`
	// MaxWait bounds the queueing for a hashing slot (default 2s); past it
	// the answer is 503 busy with Retry-After.
	MaxWait time.Duration `yaml:"max_wait"`
}

// PasswordPolicyConfig overrides the policy's lengths (code points); zero
// keeps the NIST defaults (15, 8 with MFA, 256).
type PasswordPolicyConfig struct {
	MinLength        int `yaml:"min_length"`
	MinLengthWithMFA int `yaml:"min_length_with_mfa"`
	MaxLength        int `yaml:"max_length"`
}

// AccessTokenConfig configures the EdDSA access tokens of POST /v1/token.
type AccessTokenConfig struct {
	// Keys are Ed25519 private keys as "kid:base64seed,..." (32-byte
	// seeds), the first one signing (RISKAUTH_ACCESS_TOKEN_KEYS). Without
	// them riskauthd generates one into access-token.keys in the data dir,
	// except in production, where access tokens are then off.
	Keys string `yaml:"keys"`
	// Disabled turns access tokens off (RISKAUTH_ACCESS_TOKENS=false).
	Disabled bool `yaml:"disabled"`
	// TTL is the token lifetime (RISKAUTH_ACCESS_TOKEN_TTL, default 5m,
	// at most 1h).
	TTL time.Duration `yaml:"ttl"`
	// Audience, optional, is the "aud" claim
	// (RISKAUTH_ACCESS_TOKEN_AUDIENCE).
	Audience string `yaml:"audience"`
}

// Defaults of RateLimitConfig. They only cut off floods from one address:
// a whole office or carrier NAT shares an address, and the engine's
// velocity rules judge finer-grained abuse across instances.
const (
	DefaultRateLimitPerMinute  = 60
	DefaultRateLimitBurst      = 20
	DefaultRateLimitMaxClients = 100_000
)

// RateLimitConfig is the token bucket per client IP in front of the
// unauthenticated sign-in routes. With redis.url the buckets are in
// Redis, shared by every instance; without it (or while Redis does not
// answer) they live in each instance's memory, so with N instances behind
// a balancer an address gets up to N times the limit.
type RateLimitConfig struct {
	// PerIPPerMinute refills each address's bucket (default 60); 0
	// disables the limit. A pointer, so that an explicit 0 is told from
	// an absent key.
	PerIPPerMinute *int `yaml:"per_ip_per_minute"`
	// Burst is the bucket size (default 20).
	Burst int `yaml:"burst"`
	// MaxClients bounds the addresses tracked (default 100000); the least
	// recently seen are forgotten first.
	MaxClients int `yaml:"max_clients"`
}

// Flows returns the authn.Config of this configuration; defaults have
// been applied by Load.
func (a *AuthnConfig) Flows() authn.Config {
	c := a.Config
	c.Passkeys = a.PasskeyConfig()
	return c
}

// PasskeyConfig is authn.passkeys with its origins defaulting to the
// public origin (the hosted pages run the ceremonies there).
func (a *AuthnConfig) PasskeyConfig() passkey.Config {
	pk := a.Passkeys
	if pk.Enabled() && len(pk.Origins) == 0 && a.PublicOrigin != "" {
		pk.Origins = []string{a.PublicOrigin}
	}
	return pk
}

// flowDefaults fills the zero flow settings from authn.DefaultConfig, so
// the numbers are not repeated here.
func (a *AuthnConfig) flowDefaults() {
	a.Config.SetDefaults()
	r := &a.RateLimit
	if r.PerIPPerMinute == nil {
		n := DefaultRateLimitPerMinute
		r.PerIPPerMinute = &n
	}
	r.Burst = cmp.Or(r.Burst, DefaultRateLimitBurst)
	r.MaxClients = cmp.Or(r.MaxClients, DefaultRateLimitMaxClients)
}

// validateFlows reports every problem of the flow tuning, naming the key.
func (a *AuthnConfig) validateFlows() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s, l := a.Sessions, a.Lockout
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"flow_ttl", a.FlowTTL}, {"code_ttl", a.CodeTTL}, {"code_resend_interval", a.CodeResendInterval},
		{"email_send_window", a.EmailSendWindow}, {"verification_ttl", a.VerificationTTL}, {"reset_ttl", a.ResetTTL},
		{"reauth_window", a.ReauthWindow}, {"touch_interval", a.TouchInterval}, {"step_up_mail_interval", a.StepUpMailInterval},
		{"sessions.aal1_idle", s.AAL1Idle}, {"sessions.aal1_absolute", s.AAL1Absolute},
		{"sessions.aal2_idle", s.AAL2Idle}, {"sessions.aal2_absolute", s.AAL2Absolute},
		{"lockout.account_window", l.AccountWindow}, {"lockout.source_window", l.SourceWindow},
		{"lockout.otp_window", l.OTPWindow}, {"lockout.base_delay", l.BaseDelay}, {"lockout.max_delay", l.MaxDelay},
	} {
		if d.v < 0 {
			bad("authn.%s %s: must be positive", d.key, d.v)
		}
	}
	if a.CodeTTL > authn.MaxCodeTTL {
		bad("authn.code_ttl %s: at most %s (codes and magic links are short-lived secrets)", a.CodeTTL, authn.MaxCodeTTL)
	}
	if pk := a.PasskeyConfig(); pk.Enabled() {
		if err := pk.Validate(); err != nil {
			bad("authn.passkeys: %v", err)
		}
	}
	if a.CodeDigits < 6 || a.CodeDigits > 10 {
		bad("authn.code_digits %d: want 6-10", a.CodeDigits)
	}
	if a.CodeMaxAttempts < 1 || a.CodeMaxAttempts > 10 {
		bad("authn.code_max_attempts %d: want 1-10", a.CodeMaxAttempts)
	}
	if a.EmailSendLimit < 1 {
		bad("authn.email_send_limit %d: must be positive", a.EmailSendLimit)
	}
	if s.AAL1Idle > s.AAL1Absolute {
		bad("authn.sessions.aal1_idle %s longer than aal1_absolute %s", s.AAL1Idle, s.AAL1Absolute)
	}
	if s.AAL2Idle > s.AAL2Absolute {
		bad("authn.sessions.aal2_idle %s longer than aal2_absolute %s", s.AAL2Idle, s.AAL2Absolute)
	}
	for _, n := range []struct {
		key string
		v   int
	}{
		{"lockout.account_step_up_after", l.AccountStepUpAfter}, {"lockout.source_delay_after", l.SourceDelayAfter},
		{"lockout.otp_delay_after", l.OTPDelayAfter}, {"mail_queue", a.MailQueue}, {"mail_workers", a.MailWorkers},
	} {
		if n.v < 1 {
			bad("authn.%s %d: must be positive", n.key, n.v)
		}
	}
	if l.MaxDelay < l.BaseDelay {
		bad("authn.lockout.max_delay %s shorter than base_delay %s", l.MaxDelay, l.BaseDelay)
	}
	errs = append(errs, a.Database.validate()...)
	r := a.RateLimit
	if r.PerIPPerMinute != nil && *r.PerIPPerMinute < 0 {
		bad("authn.rate_limit.per_ip_per_minute %d: want 0 (off) or more", *r.PerIPPerMinute)
	}
	if r.Burst < 0 || r.MaxClients < 0 {
		bad("authn.rate_limit: burst and max_clients must not be negative")
	}
	return errs
}

// NamedKey is one parsed "id:base64" key entry.
type NamedKey struct {
	ID  string
	Key []byte
}

// Production reports whether RISKAUTH_ENV is production.
func (c *Config) Production() bool { return c.Env == EnvProduction }

// applyAuthnEnv overlays the RISKAUTH_* variables of sign-in.
func (c *Config) applyAuthnEnv(env func(string) string) error {
	a := &c.Authn
	for name, dst := range map[string]*string{
		"RISKAUTH_ENV": &c.Env, "RISKAUTH_DATABASE_URL": &a.DatabaseURL, "RISKAUTH_PUBLIC_ORIGIN": &a.PublicOrigin,
		"RISKAUTH_SMTP_URL": &a.SMTPURL, "RISKAUTH_SEAL_KEYS": &a.SealKeys, "RISKAUTH_AUTHN_SECRET": &a.Secret,
		"RISKAUTH_SERVICE_NAME": &a.ServiceName, "RISKAUTH_ACCESS_TOKEN_KEYS": &a.AccessTokens.Keys,
		"RISKAUTH_ACCESS_TOKEN_AUDIENCE": &a.AccessTokens.Audience,
	} {
		setEnv(env, name, dst)
	}
	if err := a.Database.applyEnv(env); err != nil {
		return err
	}
	a.applyUpstreamEnv(env)
	if v := env("RISKAUTH_ALLOWED_ORIGINS"); strings.TrimSpace(v) != "" {
		a.AllowedOrigins = splitList(v)
	}
	on, ok, err := boolEnv(env, "RISKAUTH_ACCESS_TOKENS")
	if err != nil {
		return err
	}
	if ok {
		a.AccessTokens.Disabled = !on
	}
	if v := strings.TrimSpace(env("RISKAUTH_ACCESS_TOKEN_TTL")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("RISKAUTH_ACCESS_TOKEN_TTL %q: %w", v, err)
		}
		a.AccessTokens.TTL = d
	}
	return nil
}

// authnDefaults fills what is derived from the rest of the configuration.
func (c *Config) authnDefaults() {
	a := &c.Authn
	if a.ServiceName == "" {
		a.ServiceName = "riskauth"
	}
	a.explicitOrigin = a.PublicOrigin
	if a.PublicOrigin == "" {
		a.PublicOrigin = originOf(c.Addr)
	}
	h := &a.Hasher
	if h.MemoryKiB == 0 {
		h.MemoryKiB = password.DefaultParams().Memory
	}
	if h.Time == 0 {
		h.Time = password.DefaultParams().Time
	}
	if h.Threads == 0 {
		h.Threads = password.DefaultParams().Threads
	}
	if a.AccessTokens.TTL == 0 {
		a.AccessTokens.TTL = 5 * time.Minute
	}
	a.flowDefaults()
}

// originOf derives the embedded-mode origin from the listen address: a
// wildcard host reads as the loopback address a local browser would use.
func originOf(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://127.0.0.1:8080"
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// validateAuthn reports every problem of the sign-in configuration.
func (c *Config) validateAuthn() []error {
	a := &c.Authn
	var errs []error
	switch c.Env {
	case "", "development", EnvProduction:
	default:
		errs = append(errs, fmt.Errorf("env %q: want development or production", c.Env))
	}
	if c.Production() {
		for _, m := range []struct{ v, name string }{
			{a.SealKeys, "RISKAUTH_SEAL_KEYS (authn.seal_keys): TOTP secrets must be sealed with keys every instance shares"},
			{a.Secret, "RISKAUTH_AUTHN_SECRET (authn.secret): email and recovery codes must be keyed alike on every instance"},
			{a.SMTPURL, "RISKAUTH_SMTP_URL (authn.smtp_url): production mail cannot go to a local outbox"},
			{a.explicitOrigin, "RISKAUTH_PUBLIC_ORIGIN (authn.public_origin): links in mail must point at the public address"},
		} {
			if m.v == "" {
				errs = append(errs, fmt.Errorf("production requires %s", m.name))
			}
		}
		if strings.HasPrefix(a.PublicOrigin, "http://") {
			errs = append(errs, errors.New("production requires an https public origin"))
		}
	}
	for _, o := range append([]string{a.PublicOrigin}, a.AllowedOrigins...) {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("origin %q: want https://host[:port]", o))
		}
	}
	if a.DatabaseURL != "" && !strings.HasPrefix(a.DatabaseURL, "postgres://") && !strings.HasPrefix(a.DatabaseURL, "postgresql://") {
		// Not echoed: the URL may hold a password.
		errs = append(errs, errors.New("RISKAUTH_DATABASE_URL: want a postgres:// or postgresql:// URL"))
	}
	if a.SMTPURL != "" {
		if _, err := mail.ParseSMTPURL(a.SMTPURL); err != nil {
			errs = append(errs, err) // ParseSMTPURL never repeats the URL
		}
	}
	if a.SealKeys != "" {
		if _, err := ParseNamedKeys(a.SealKeys, seal.KeySize); err != nil {
			errs = append(errs, fmt.Errorf("RISKAUTH_SEAL_KEYS: %w", err))
		}
	}
	if a.Secret != "" && len(a.Secret) < 32 {
		errs = append(errs, errors.New("RISKAUTH_AUTHN_SECRET: shorter than 32 characters"))
	}
	if a.AccessTokens.Keys != "" {
		if _, err := ParseNamedKeys(a.AccessTokens.Keys, 32); err != nil {
			errs = append(errs, fmt.Errorf("RISKAUTH_ACCESS_TOKEN_KEYS: %w", err))
		}
	}
	if t := a.AccessTokens.TTL; t < 0 || t > time.Hour {
		errs = append(errs, fmt.Errorf("access token TTL %s: want (0, 1h]", t))
	}
	p := password.DefaultParams()
	p.Memory, p.Time, p.Threads = a.Hasher.MemoryKiB, a.Hasher.Time, a.Hasher.Threads
	if err := p.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("authn.hasher: %w", err))
	}
	if a.Hasher.Concurrency < 0 || a.Hasher.MaxWait < 0 {
		errs = append(errs, errors.New("authn.hasher: concurrency and max_wait must not be negative"))
	}
	if strings.TrimSpace(a.ServiceName) == "" || len(a.ServiceName) > 64 || strings.ContainsAny(a.ServiceName, ":\r\n") {
		errs = append(errs, errors.New("authn.service_name: 1-64 characters, no ':' or line break"))
	}
	errs = append(errs, a.validateAccount()...)
	errs = append(errs, a.validateUpstream()...)
	return append(errs, a.validateFlows()...)
}

// ParseNamedKeys parses the key-list form "id1:base64key,id2:base64key"
// used for every set of rotated keys (sealing keys, access-token signing
// seeds): comma-separated entries, each a key id of [A-Za-z0-9_.-]{1,32},
// a colon and a key of size bytes in base64 (standard or URL alphabet,
// padded or not: `openssl rand -base64 32` output works). The order is
// kept: the first key is the active one. Errors name the entry and the key
// id, never the key material.
func ParseNamedKeys(spec string, size int) ([]NamedKey, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, errors.New("empty key list")
	}
	var out []NamedKey
	seen := map[string]bool{}
	for i, entry := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return nil, fmt.Errorf("entry %d: want <id>:<base64 key>", i+1)
		}
		if id == "" || len(id) > 32 || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != "" {
			// The id is not quoted: a key pasted where an id belongs
			// would otherwise end up in the error.
			return nil, fmt.Errorf("entry %d: key id must be 1 to 32 of [A-Za-z0-9_.-]", i+1)
		}
		if seen[id] {
			return nil, fmt.Errorf("entry %d: duplicate key id %q", i+1, id)
		}
		seen[id] = true
		key, err := decodeKey(b64)
		if err != nil {
			return nil, fmt.Errorf("entry %d (key %q): %w", i+1, id, err)
		}
		if len(key) != size {
			return nil, fmt.Errorf("entry %d (key %q): %d bytes, want %d", i+1, id, len(key), size)
		}
		out = append(out, NamedKey{ID: id, Key: key})
	}
	return out, nil
}

// decodeKey decodes one base64 key of either alphabet, padded or not.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty key")
	}
	// encoding/base64 skips '\r' and '\n' even in strict mode; a key with
	// stray characters is more likely a paste error than a key.
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("+/-_=", c) >= 0) {
			return nil, fmt.Errorf("key has a character outside the base64 alphabet at offset %d", i)
		}
	}
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	b, err := enc.Strict().DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		// Not wrapped: keep the message generic so no key byte can appear.
		return nil, errors.New("key is not valid base64")
	}
	return b, nil
}
