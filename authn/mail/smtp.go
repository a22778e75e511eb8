package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine/clock"
	gomail "github.com/wneessen/go-mail"
)

// TLSMode is how the SMTP connection is protected.
type TLSMode string

// TLS modes of the smtp:// URL's tls parameter.
const (
	// TLSStartTLS upgrades a plain connection with STARTTLS and refuses
	// to continue if the server does not offer it (default; port 587).
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit TLSMode = "tls"
	// TLSNone sends in clear text (port 25); only for a relay on the same
	// host or network, and never with credentials to a remote host.
	TLSNone TLSMode = "none"
)

// Secret is a string that does not print: fmt, slog and encoding/json
// show "[REDACTED]" instead of its value.
type Secret string

const redacted = "[REDACTED]"

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer, so %#v does not leak either.
func (Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText implements encoding.TextMarshaler (JSON, YAML, ...).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// SMTPConfig configures SMTP delivery; ParseSMTPURL builds it from the
// configuration URL.
type SMTPConfig struct {
	// Host is the submission server's name or IP.
	Host string
	// Port is the TCP port.
	Port int
	// Username authenticates; empty means no AUTH.
	Username string
	// Password goes with Username; its type keeps it out of logs.
	Password Secret
	// Auth is the SASL mechanism (go-mail's name, e.g. "PLAIN").
	Auth gomail.SMTPAuthType
	// TLS is the transport protection.
	TLS TLSMode
	// From is the sender, optionally with a display name.
	From string
	// HELO is the name announced in EHLO; empty lets go-mail choose.
	HELO string
	// Timeout bounds connecting and each command. Zero means 15 s.
	Timeout time.Duration
	// TLSConfig overrides the TLS settings (for example RootCAs for a
	// private CA). ServerName defaults to Host and MinVersion is raised to
	// TLS 1.2 in any case. It cannot be set from the URL.
	TLSConfig *tls.Config
}

// defaultSMTPTimeout bounds a stuck server.
const defaultSMTPTimeout = 15 * time.Second

var authMechanisms = map[string]gomail.SMTPAuthType{
	"plain":         gomail.SMTPAuthPlain,
	"login":         gomail.SMTPAuthLogin,
	"cram-md5":      gomail.SMTPAuthCramMD5,
	"scram-sha-1":   gomail.SMTPAuthSCRAMSHA1,
	"scram-sha-256": gomail.SMTPAuthSCRAMSHA256,
}

// ParseSMTPURL parses
//
//	smtp://[user[:password]@]host[:port]?from=<sender>[&tls=starttls|tls|none][&auth=plain|login|cram-md5|scram-sha-1|scram-sha-256][&helo=<name>][&timeout=<duration>]
//
// User and password are percent-encoded (url.UserPassword form); from
// may carry a display name ("RiskAuth <no-reply@example.com>",
// percent-encoded). tls defaults to starttls; the port defaults to 587,
// 465 or 25 by TLS mode; auth defaults to plain when a user is given.
// Unknown parameters are errors, so a typo cannot silently weaken TLS.
// Credentials with tls=none are refused unless the host is a loopback
// address.
//
// Errors describe what is wrong without repeating the URL: it contains the
// password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	const prefix = "smtp url: "
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, errors.New(prefix + describeURLError(err))
	}
	if u.Scheme != "smtp" {
		return SMTPConfig{}, fmt.Errorf(prefix+"scheme must be \"smtp\", got %q", truncate(u.Scheme, 16))
	}
	if u.Opaque != "" {
		return SMTPConfig{}, errors.New(prefix + "want smtp://host, not smtp:host")
	}
	if u.Path != "" && u.Path != "/" {
		return SMTPConfig{}, errors.New(prefix + "unexpected path")
	}
	if u.Fragment != "" {
		return SMTPConfig{}, errors.New(prefix + "unexpected fragment")
	}
	cfg := SMTPConfig{Host: u.Hostname()}
	if cfg.Host == "" {
		return SMTPConfig{}, errors.New(prefix + "no host")
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return SMTPConfig{}, errors.New(prefix + "query: " + describeURLError(err))
	}
	for k, v := range q {
		switch k {
		case "tls", "from", "auth", "helo", "timeout":
			if len(v) != 1 {
				return SMTPConfig{}, fmt.Errorf(prefix+"parameter %q given %d times", k, len(v))
			}
		default:
			return SMTPConfig{}, fmt.Errorf(prefix+"unknown parameter %q (want tls, from, auth, helo, timeout)", truncate(k, 32))
		}
	}

	cfg.TLS = TLSStartTLS
	if v, ok := q["tls"]; ok {
		switch m := TLSMode(v[0]); m {
		case TLSStartTLS, TLSImplicit, TLSNone:
			cfg.TLS = m
		default:
			return SMTPConfig{}, fmt.Errorf(prefix+"tls=%q: want starttls, tls or none", truncate(v[0], 16))
		}
	}

	switch p := u.Port(); p {
	case "":
		cfg.Port = map[TLSMode]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[cfg.TLS]
	default:
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SMTPConfig{}, errors.New(prefix + "port must be 1 to 65535")
		}
		cfg.Port = n
	}

	from := q.Get("from")
	if from == "" {
		return SMTPConfig{}, errors.New(prefix + "missing from= (the sender address)")
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return SMTPConfig{}, fmt.Errorf(prefix+"from: not an address: %w", err)
	}
	cfg.From = from

	if u.User != nil {
		cfg.Username = u.User.Username()
		pw, _ := u.User.Password()
		cfg.Password = Secret(pw)
		if cfg.Username == "" {
			return SMTPConfig{}, errors.New(prefix + "empty user name")
		}
	}
	if v := q.Get("auth"); v != "" {
		mech, ok := authMechanisms[strings.ToLower(v)]
		if !ok {
			return SMTPConfig{}, fmt.Errorf(prefix+"auth=%q: want plain, login, cram-md5, scram-sha-1 or scram-sha-256", truncate(v, 16))
		}
		if cfg.Username == "" {
			return SMTPConfig{}, errors.New(prefix + "auth= given without a user")
		}
		cfg.Auth = mech
	} else if cfg.Username != "" {
		cfg.Auth = gomail.SMTPAuthPlain
	}
	if cfg.Username != "" && cfg.TLS == TLSNone && !isLoopback(cfg.Host) {
		return SMTPConfig{}, errors.New(prefix + "refusing to send credentials without TLS to a non-loopback host (use tls=starttls or tls=tls)")
	}

	cfg.HELO = q.Get("helo")
	if v := q.Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return SMTPConfig{}, fmt.Errorf(prefix+"timeout=%q: want a positive duration such as 10s", truncate(v, 16))
		}
		cfg.Timeout = d
	}
	return cfg, nil
}

// describeURLError names the problem of a URL parse error without any of
// the input: url.Error repeats the whole URL, and an EscapeError quotes
// the bytes around a bad escape, which may be part of the password.
func describeURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ee url.EscapeError
	var he url.InvalidHostError
	switch {
	case errors.As(err, &ee):
		return "invalid percent-escape (percent-encode special characters in user, password and parameters)"
	case errors.As(err, &he):
		return "invalid character in host"
	case strings.Contains(err.Error(), "invalid port"):
		return "invalid port"
	case strings.Contains(err.Error(), "invalid userinfo"):
		return "invalid character in user or password (percent-encode it)"
	case strings.Contains(err.Error(), "control character"):
		return "control character in URL"
	}
	return "malformed URL"
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// String describes the configuration without the password.
func (c SMTPConfig) String() string {
	user := ""
	if c.Username != "" {
		user = c.Username + ":" + redacted + "@"
	}
	return fmt.Sprintf("smtp://%s%s:%d?tls=%s&from=%s", user, c.Host, c.Port, c.TLS, c.From)
}

// LogValue implements slog.LogValuer without the password.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host), slog.Int("port", c.Port), slog.String("tls", string(c.TLS)),
		slog.String("user", c.Username), slog.String("from", c.From))
}

// SMTP delivers messages through an SMTP submission server, one connection
// per message (transactional mail is rare enough that pooling is not
// worth a stale connection). It is safe for concurrent use.
type SMTP struct {
	cfg SMTPConfig
	// opts configure each message's client; built once, since cfg does
	// not change and go-mail neither mutates them nor the tls.Config.
	opts []gomail.Option
	// domain is the sender's domain, the right-hand side of Message-IDs.
	domain string
	clock  clock.Clock
	logger *slog.Logger
}

var _ Mailer = (*SMTP)(nil)

// NewSMTP validates cfg and returns an SMTP mailer. A nil clock means the
// system clock; a nil logger discards.
func NewSMTP(cfg SMTPConfig, clk clock.Clock, logger *slog.Logger) (*SMTP, error) {
	if cfg.Host == "" || cfg.Port < 1 || cfg.Port > 65535 {
		return nil, errors.New("smtp: host and port 1 to 65535 are required")
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("smtp: unknown TLS mode %q", cfg.TLS)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from: %w", err)
	}
	if cfg.Username != "" && cfg.Auth == "" {
		cfg.Auth = gomail.SMTPAuthPlain
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultSMTPTimeout
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &SMTP{
		cfg:    cfg,
		opts:   clientOptions(cfg),
		domain: from.Address[strings.LastIndexByte(from.Address, '@')+1:],
		clock:  clk,
		logger: discardLogger(logger),
	}, nil
}

// Send delivers msg. The error says which step failed (dial, auth, a
// command) with the server's reply; it never contains the password.
func (s *SMTP) Send(ctx context.Context, msg Message) error {
	if err := msg.Validate(); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	id, err := newID()
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	m, err := s.build(id, msg)
	if err != nil {
		return err
	}
	client, err := gomail.NewClient(s.cfg.Host, s.opts...)
	if err != nil {
		return fmt.Errorf("smtp: client: %w", err)
	}
	start := s.clock.Now()
	if err := client.DialAndSendWithContext(ctx, m); err != nil {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "mail send failed",
			append(logAttrs(id, msg), slog.String("server", net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))))...)
		return fmt.Errorf("smtp: send %s via %s:%d: %w", msg.Kind, s.cfg.Host, s.cfg.Port, err)
	}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "mail sent",
		append(logAttrs(id, msg), slog.Duration("duration", s.clock.Now().Sub(start)))...)
	return nil
}

func (s *SMTP) build(id string, msg Message) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if err := m.From(s.cfg.From); err != nil {
		return nil, fmt.Errorf("smtp: from: %w", err)
	}
	if err := m.To(msg.To); err != nil {
		return nil, fmt.Errorf("smtp: %w: recipient rejected", ErrInvalidMessage)
	}
	m.Subject(msg.Subject)
	m.SetDateWithValue(s.clock.Now())
	m.SetMessageIDWithValue(id + "@" + s.domain)
	m.SetGenHeader(gomail.Header("X-Riskauth-Kind"), string(msg.Kind))
	if msg.Tag != "" {
		m.SetGenHeader(gomail.Header("X-Riskauth-Tag"), msg.Tag)
	}
	// Security mail must not be auto-answered by vacation responders.
	m.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	m.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	return m, nil
}

func clientOptions(cfg SMTPConfig) []gomail.Option {
	tlsCfg := &tls.Config{}
	if cfg.TLSConfig != nil {
		tlsCfg = cfg.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = cfg.Host
	}
	tlsCfg.MinVersion = max(tlsCfg.MinVersion, tls.VersionTLS12)

	opts := []gomail.Option{
		gomail.WithPort(cfg.Port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(tlsCfg),
	}
	switch cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	if cfg.Username != "" {
		opts = append(opts,
			gomail.WithSMTPAuth(cfg.Auth),
			gomail.WithUsername(cfg.Username),
			gomail.WithPassword(string(cfg.Password)))
	}
	return opts
}
