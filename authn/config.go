package authn

import (
	"errors"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/authn/passkey"
)

// SessionTimeouts are the idle and absolute lifetimes of a session per
// assurance level. An AAL2 session is the one that may change security
// settings, so it lives shorter (NIST SP 800-63B rev 4 §2.2.3, ASVS V7.3).
type SessionTimeouts struct {
	// AAL1Idle (default 7 days) and AAL1Absolute (default 30 days, the NIST
	// AAL1 reauthentication bound).
	AAL1Idle     time.Duration `yaml:"aal1_idle"`
	AAL1Absolute time.Duration `yaml:"aal1_absolute"`
	// AAL2Idle (default 30 minutes) and AAL2Absolute (default 12 hours).
	AAL2Idle     time.Duration `yaml:"aal2_idle"`
	AAL2Absolute time.Duration `yaml:"aal2_absolute"`
}

// Lockout configures throttling without lockout: thresholds never lock an
// account, they demand a second factor or slow one source down (see
// docs/authn.md).
type Lockout struct {
	// AccountStepUpAfter wrong passwords for an identifier (an account's
	// address or an unknown one alike) since its last right one, within
	// AccountWindow, hold it: from then on every password, right or
	// wrong, gets the same answer, a flow that asks for an email code and
	// completes only for the right password. It bounds the guesses whose
	// answer tells anything to AccountStepUpAfter per AccountWindow.
	// Default 5.
	AccountStepUpAfter int `yaml:"account_step_up_after"`
	// AccountWindow bounds that count. Default 24 hours.
	AccountWindow time.Duration `yaml:"account_window"`
	// SourceDelayAfter failures of an account from one IP address or
	// device (since its last success from there, within SourceWindow)
	// start a progressive delay for that source only. Default 5.
	SourceDelayAfter int `yaml:"source_delay_after"`
	// SourceWindow bounds that count. Default 1 hour.
	SourceWindow time.Duration `yaml:"source_window"`
	// OTPDelayAfter TOTP failures of an account (since its last TOTP
	// success, within OTPWindow) start a progressive delay on TOTP checks
	// for the account. Default 5.
	OTPDelayAfter int `yaml:"otp_delay_after"`
	// OTPWindow bounds that count. Default 24 hours.
	OTPWindow time.Duration `yaml:"otp_window"`
	// BaseDelay is the first delay; each further failure doubles it, up to
	// MaxDelay. Defaults 1 second and 15 minutes.
	BaseDelay time.Duration `yaml:"base_delay"`
	MaxDelay  time.Duration `yaml:"max_delay"`
}

// Config tunes the flows. Zero fields take the defaults documented on each.
// The yaml keys are riskauthd's (authn.* in its configuration file).
// Password lengths are not here: they belong to the password.Policy of the
// Checker in Deps, so registration, change and reset cannot disagree.
type Config struct {
	// ServiceName is the TOTP issuer shown in authenticator apps.
	// Required; must not contain ':'.
	ServiceName string `yaml:"service_name"`
	// FlowTTL is how long a sign-in flow lives. Default 15 minutes.
	FlowTTL time.Duration `yaml:"flow_ttl"`
	// CodeTTL is the lifetime of email codes and magic links, at most 10
	// minutes (the default).
	CodeTTL time.Duration `yaml:"code_ttl"`
	// CodeDigits is the length of email codes, at least 6 (the default).
	CodeDigits int `yaml:"code_digits"`
	// CodeMaxAttempts is how many wrong guesses kill an email code.
	// Default 5.
	CodeMaxAttempts int `yaml:"code_max_attempts"`
	// CodeResendInterval is the least time between two code requests in
	// one flow. Default 30 seconds.
	CodeResendInterval time.Duration `yaml:"code_resend_interval"`
	// EmailSendLimit mails of each kind (every mail.Kind: verification,
	// account_exists, login code, reset, notifications) to one address per
	// EmailSendWindow, counted in the store (Deps.Counters) so the cap
	// holds across instances; beyond it requests are answered as usual and
	// do the same work, but nothing is sent. It is also the limit on
	// login-code and reset requests per address (samework.go). Defaults 5
	// per 15 minutes.
	EmailSendLimit  int           `yaml:"email_send_limit"`
	EmailSendWindow time.Duration `yaml:"email_send_window"`
	// VerificationTTL is the lifetime of email verification links.
	// Default 24 hours.
	VerificationTTL time.Duration `yaml:"verification_ttl"`
	// ResetTTL is the lifetime of password reset links. Default 30 minutes.
	ResetTTL time.Duration `yaml:"reset_ttl"`
	// Sessions are the session lifetimes.
	Sessions SessionTimeouts `yaml:"sessions"`
	// ReauthWindow is how recent a session's authentication must be for
	// security changes (factor enrolment and removal). Default 10 minutes.
	ReauthWindow time.Duration `yaml:"reauth_window"`
	// TouchInterval is the least time between two writes of a session's
	// idle deadline, so a busy client does not write on every request.
	// Default 1 minute.
	TouchInterval time.Duration `yaml:"touch_interval"`
	// StepUpMailInterval: at most one "failed second factor" mail per
	// account and factor per interval. Default 1 hour.
	StepUpMailInterval time.Duration `yaml:"step_up_mail_interval"`
	// Lockout are the throttling thresholds.
	Lockout Lockout `yaml:"lockout"`
	// MailQueue and MailWorkers size the asynchronous mail queue (defaults
	// 1024 and 2). Mail leaves the request path so that sending or not
	// sending a mail cannot be told apart by timing.
	MailQueue   int `yaml:"mail_queue"`
	MailWorkers int `yaml:"mail_workers"`
	// Account configures the self-service surface: custom profile
	// attributes, activity retention (account_config.go).
	Account AccountConfig `yaml:"account"`
	// Passkeys is the WebAuthn relying party (rp_id, origins); passkeys
	// are off while rp_id is empty.
	Passkeys passkey.Config `yaml:"passkeys"`
}

// MaxCodeTTL is the longest accepted Config.CodeTTL.
const MaxCodeTTL = 10 * time.Minute

// DefaultConfig returns the documented defaults of every tunable field
// (ServiceName, which has none, stays empty). New fills zero fields from
// it, and riskauthd's configuration takes its defaults from here, so the
// numbers live in one place.
func DefaultConfig() Config {
	return Config{
		FlowTTL:            15 * time.Minute,
		CodeTTL:            MaxCodeTTL,
		CodeDigits:         6,
		CodeMaxAttempts:    5,
		CodeResendInterval: 30 * time.Second,
		EmailSendLimit:     5,
		EmailSendWindow:    15 * time.Minute,
		VerificationTTL:    24 * time.Hour,
		ResetTTL:           30 * time.Minute,
		Sessions: SessionTimeouts{
			AAL1Idle: 7 * 24 * time.Hour, AAL1Absolute: 30 * 24 * time.Hour,
			AAL2Idle: 30 * time.Minute, AAL2Absolute: 12 * time.Hour,
		},
		ReauthWindow:       10 * time.Minute,
		TouchInterval:      time.Minute,
		StepUpMailInterval: time.Hour,
		Lockout: Lockout{
			AccountStepUpAfter: 5, AccountWindow: 24 * time.Hour,
			SourceDelayAfter: 5, SourceWindow: time.Hour,
			OTPDelayAfter: 5, OTPWindow: 24 * time.Hour,
			BaseDelay: time.Second, MaxDelay: 15 * time.Minute,
		},
		MailQueue:   1024,
		MailWorkers: 2,
		Account: AccountConfig{ActivityRetention: DefaultActivityRetention, ActivityMaxPerUser: DefaultActivityMaxPerUser,
			EmailChangeUndo: DefaultEmailChangeUndo, DeletionGrace: DefaultDeletionGrace, ExportInterval: DefaultExportInterval,
			ExportLinkTTL: DefaultExportLinkTTL, UnverifiedRetention: DefaultUnverifiedRetention},
	}
}

// def sets *p to v when it is zero.
func def[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// SetDefaults fills the zero fields from DefaultConfig.
func (c *Config) SetDefaults() {
	d := DefaultConfig()
	def(&c.FlowTTL, d.FlowTTL)
	def(&c.CodeTTL, d.CodeTTL)
	def(&c.CodeDigits, d.CodeDigits)
	def(&c.CodeMaxAttempts, d.CodeMaxAttempts)
	def(&c.CodeResendInterval, d.CodeResendInterval)
	def(&c.EmailSendLimit, d.EmailSendLimit)
	def(&c.EmailSendWindow, d.EmailSendWindow)
	def(&c.VerificationTTL, d.VerificationTTL)
	def(&c.ResetTTL, d.ResetTTL)
	def(&c.Sessions.AAL1Idle, d.Sessions.AAL1Idle)
	def(&c.Sessions.AAL1Absolute, d.Sessions.AAL1Absolute)
	def(&c.Sessions.AAL2Idle, d.Sessions.AAL2Idle)
	def(&c.Sessions.AAL2Absolute, d.Sessions.AAL2Absolute)
	def(&c.ReauthWindow, d.ReauthWindow)
	def(&c.TouchInterval, d.TouchInterval)
	def(&c.StepUpMailInterval, d.StepUpMailInterval)
	l, dl := &c.Lockout, d.Lockout
	def(&l.AccountStepUpAfter, dl.AccountStepUpAfter)
	def(&l.AccountWindow, dl.AccountWindow)
	def(&l.SourceDelayAfter, dl.SourceDelayAfter)
	def(&l.SourceWindow, dl.SourceWindow)
	def(&l.OTPDelayAfter, dl.OTPDelayAfter)
	def(&l.OTPWindow, dl.OTPWindow)
	def(&l.BaseDelay, dl.BaseDelay)
	def(&l.MaxDelay, dl.MaxDelay)
	def(&c.MailQueue, d.MailQueue)
	def(&c.MailWorkers, d.MailWorkers)
	c.Account.SetDefaults()
}

func (c *Config) defaults() error {
	c.SetDefaults()
	l := &c.Lockout
	switch {
	case c.ServiceName == "" || len(c.ServiceName) > 64:
		return errors.New("service name must be 1-64 bytes")
	case c.CodeTTL < 0 || c.CodeTTL > MaxCodeTTL:
		return fmt.Errorf("code TTL %s outside (0, %s]", c.CodeTTL, MaxCodeTTL)
	case c.CodeDigits < 6 || c.CodeDigits > 10:
		return fmt.Errorf("code digits %d outside [6, 10]", c.CodeDigits)
	case c.CodeMaxAttempts < 1 || c.CodeMaxAttempts > 10:
		return fmt.Errorf("code max attempts %d outside [1, 10]", c.CodeMaxAttempts)
	case c.EmailSendLimit < 1:
		return fmt.Errorf("email send limit %d must be positive", c.EmailSendLimit)
	case c.Sessions.AAL1Idle > c.Sessions.AAL1Absolute || c.Sessions.AAL2Idle > c.Sessions.AAL2Absolute:
		return errors.New("session idle timeout longer than the absolute one")
	case l.AccountStepUpAfter < 1 || l.SourceDelayAfter < 1 || l.OTPDelayAfter < 1:
		return errors.New("lockout thresholds must be positive")
	case l.BaseDelay <= 0 || l.MaxDelay < l.BaseDelay:
		return errors.New("lockout delays must be positive, max at least base")
	case c.MailQueue < 1 || c.MailWorkers < 1:
		return errors.New("mail queue and workers must be positive")
	}
	if err := c.Account.Validate(); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	if c.Passkeys.Enabled() {
		if err := c.Passkeys.Validate(); err != nil {
			return fmt.Errorf("passkeys: %w", err)
		}
	}
	for _, d := range []time.Duration{c.FlowTTL, c.CodeResendInterval, c.EmailSendWindow, c.VerificationTTL,
		c.ResetTTL, c.ReauthWindow, c.TouchInterval, c.StepUpMailInterval, l.AccountWindow, l.SourceWindow, l.OTPWindow} {
		if d < 0 {
			return fmt.Errorf("negative duration %s", d)
		}
	}
	return nil
}
