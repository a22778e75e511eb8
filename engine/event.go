package engine

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Event kinds the engine knows by name. Any other name matching
// [a-z][a-z0-9_.-]{0,63} is accepted as a custom kind.
const (
	KindLogin         = "login"
	KindRegistration  = "registration"
	KindPasswordReset = "password_reset"
	KindMFA           = "mfa"
	// KindSessionUse is a session or refresh token used from another
	// network or TLS fingerprint than it last was (authn evaluates it on
	// change only, issue 24).
	KindSessionUse = "session_use"
)

// Event is one thing an app asks the engine about: usually a sign-in attempt.
type Event struct {
	// Kind is login, registration, password_reset, mfa or a custom name.
	Kind string
	// UserID is the app's stable user id, when the user is known.
	UserID string
	// Identifier is what the user typed (email, username), when there is no
	// UserID yet. Velocity keys and profiles use UserID when set, else the
	// normalised identifier.
	Identifier string
	// IP is the client address; the zero value means unknown.
	IP netip.Addr
	// UserAgent is the client's User-Agent header.
	UserAgent string
	// Device is what a browser collector or mobile SDK reported; may be nil.
	Device *DeviceDescriptor
	// JA4 is an optional TLS client fingerprint hint from the edge.
	JA4 string
	// Password, when present, is only handed to signals that need it (the
	// breached-password check) and is never stored, logged or recorded.
	Password string
	// Attributes are free-form strings from the caller, visible to rules as attr.
	Attributes map[string]string
	// Factor is the authenticator this sign-in step presents (password,
	// passkey, email_code, magic_link, totp, recovery_code), visible to
	// rules as authn.factor; "" when the caller does not say.
	Factor string
	// Passkey is the verified passkey assertion of a passkey sign-in
	// (Factor "passkey"), visible to rules as passkey.*; nil otherwise.
	Passkey *PasskeyEvidence
	// Time is when the event happened; the engine's clock fills it when zero.
	Time time.Time
}

// Factor names (Event.Factor) with their own meaning for the engine.
const (
	FactorPassword = "password"
	FactorPasskey  = "passkey"
)

// PasskeyEvidence is what a verified passkey assertion tells the engine.
type PasskeyEvidence struct {
	// UserVerified: the authenticator verified the user (PIN, biometric).
	UserVerified bool
	// BackupEligible and Synced are the assertion's backup flags: the
	// passkey may be synced, and it is.
	BackupEligible bool
	Synced         bool
	// SignCountRegressed: the signature counter went backwards.
	SignCountRegressed bool
}

// FieldError is one invalid field of an event.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every invalid field of an event.
type ValidationError struct{ Fields []FieldError }

func (v *ValidationError) Error() string {
	parts := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid event: " + strings.Join(parts, "; ")
}

// validKind reports whether kind matches [a-z][a-z0-9_.-]{0,63}. A loop,
// not a regexp: the regexp took 3% of an evaluation
// (TestValidKindMatchesRegexp keeps the two equal).
func validKind(kind string) bool {
	if len(kind) == 0 || len(kind) > 64 || kind[0] < 'a' || kind[0] > 'z' {
		return false
	}
	for i := 1; i < len(kind); i++ {
		c := kind[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// Limits on event fields; longer values are refused, never truncated
// silently, so that keys stay unambiguous.
const (
	MaxIDLen         = 256
	MaxUserAgentLen  = 1024
	MaxAttributes    = 32
	MaxAttrKeyLen    = 64
	MaxAttrValueLen  = 256
	maxJA4Len        = 64
	maxPasswordBytes = 4096
)

// Validate checks an event and reports every problem at once.
func (ev *Event) Validate() error {
	var fs []FieldError
	add := func(f, m string) { fs = append(fs, FieldError{Field: f, Message: m}) }
	if !validKind(ev.Kind) {
		add("event", "want login, registration, password_reset, mfa or a custom name matching [a-z][a-z0-9_.-]{0,63}")
	}
	if len(ev.UserID) > MaxIDLen {
		add("user_id", fmt.Sprintf("longer than %d bytes", MaxIDLen))
	}
	if len(ev.Identifier) > MaxIDLen {
		add("identifier", fmt.Sprintf("longer than %d bytes", MaxIDLen))
	}
	if len(ev.UserAgent) > MaxUserAgentLen {
		add("user_agent", fmt.Sprintf("longer than %d bytes", MaxUserAgentLen))
	}
	if len(ev.JA4) > maxJA4Len {
		add("ja4", fmt.Sprintf("longer than %d bytes", maxJA4Len))
	}
	if ev.Factor != "" && !validKind(ev.Factor) {
		add("factor", "want a name matching [a-z][a-z0-9_.-]{0,63}")
	}
	if len(ev.Password) > maxPasswordBytes {
		add("password", fmt.Sprintf("longer than %d bytes", maxPasswordBytes))
	}
	if len(ev.Attributes) > MaxAttributes {
		add("attributes", fmt.Sprintf("more than %d attributes", MaxAttributes))
	}
	for k, v := range ev.Attributes {
		if len(k) == 0 || len(k) > MaxAttrKeyLen || len(v) > MaxAttrValueLen {
			add("attributes."+truncate(k, MaxAttrKeyLen), fmt.Sprintf("keys 1-%d bytes, values up to %d bytes", MaxAttrKeyLen, MaxAttrValueLen))
		}
	}
	if len(fs) > 0 {
		return &ValidationError{Fields: fs}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// DeviceDescriptor is the raw device description a client collector sends.
// Every field is optional; see signals/device for which fields feed the id.
type DeviceDescriptor struct {
	// CookieID is a random id the client keeps in a first-party cookie or
	// app storage; when present it dominates the device id.
	CookieID            string   `json:"cookie_id,omitempty" yaml:"cookie_id,omitempty"`
	Platform            string   `json:"platform,omitempty" yaml:"platform,omitempty"`
	Languages           []string `json:"languages,omitempty" yaml:"languages,omitempty"`
	Timezone            string   `json:"timezone,omitempty" yaml:"timezone,omitempty"`
	ScreenWidth         int      `json:"screen_width,omitempty" yaml:"screen_width,omitempty"`
	ScreenHeight        int      `json:"screen_height,omitempty" yaml:"screen_height,omitempty"`
	ColorDepth          int      `json:"color_depth,omitempty" yaml:"color_depth,omitempty"`
	PixelRatio          float64  `json:"pixel_ratio,omitempty" yaml:"pixel_ratio,omitempty"`
	HardwareConcurrency int      `json:"hardware_concurrency,omitempty" yaml:"hardware_concurrency,omitempty"`
	DeviceMemory        float64  `json:"device_memory,omitempty" yaml:"device_memory,omitempty"`
	CanvasHash          string   `json:"canvas_hash,omitempty" yaml:"canvas_hash,omitempty"`
	WebGLHash           string   `json:"webgl_hash,omitempty" yaml:"webgl_hash,omitempty"`
	WebGLRenderer       string   `json:"webgl_renderer,omitempty" yaml:"webgl_renderer,omitempty"`
	TouchPoints         int      `json:"touch_points,omitempty" yaml:"touch_points,omitempty"`
}

// DeviceInfo is the normalised view of a device.
type DeviceInfo struct {
	// ID is stable across browser version upgrades of the same machine and
	// differs between machines; empty when nothing identifying was sent.
	ID string
	// HasCookie reports whether the id came from a client-held cookie id.
	HasCookie bool
	// Headless reports a headless browser, HTTP library or automation tool.
	Headless bool
	// Browser, OS and Type are coarse, human-readable labels ("Chrome",
	// "Windows", "desktop"); empty when unknown.
	Browser, OS, Type string
}

// DeviceIdentifier turns a device descriptor and user agent into a
// DeviceInfo. It runs inline on every evaluation, so it must be cheap and
// must never fail: unusable input yields a DeviceInfo with an empty ID.
type DeviceIdentifier interface {
	Identify(d *DeviceDescriptor, userAgent string) DeviceInfo
}

// Outcome is what happened after a decision.
type Outcome string

// Outcomes reported by apps (success, failure, step-up result) and by
// analysts or users (fraud, legit).
const (
	OutcomeSuccess      Outcome = "success"
	OutcomeFailure      Outcome = "failure"
	OutcomeStepUpPassed Outcome = "step_up_passed"
	OutcomeStepUpFailed Outcome = "step_up_failed"
	OutcomeFraud        Outcome = "fraud"
	OutcomeLegit        Outcome = "legit"
)

// Valid reports whether o is one of the known outcomes.
func (o Outcome) Valid() bool {
	switch o {
	case OutcomeSuccess, OutcomeFailure, OutcomeStepUpPassed, OutcomeStepUpFailed, OutcomeFraud, OutcomeLegit:
		return true
	}
	return false
}

// Label reports whether o is an analyst/user label rather than a flow result.
// Labels may arrive any number of times; flow results count once.
func (o Outcome) Label() bool { return o == OutcomeFraud || o == OutcomeLegit }
