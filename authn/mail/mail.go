package mail

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
)

// Kind names what a message is for. It is logged and recorded, so it is a
// small fixed set.
type Kind string

// Message kinds, one per template.
const (
	KindVerifyEmail     Kind = "verify_email"
	KindAccountExists   Kind = "account_exists"
	KindLoginCode       Kind = "login_code"
	KindPasswordReset   Kind = "password_reset"
	KindPasswordChanged Kind = "password_changed"
	KindNewDeviceSignIn Kind = "new_device_signin"
	KindMFAChanged      Kind = "mfa_changed"
	KindStepUpFailed    Kind = "step_up_failed"
	// KindDataExport carries the single-use link to the user's data
	// export (GDPR Art. 15/20).
	KindDataExport Kind = "data_export"
	// KindAccountDeletion confirms an erasure request: when the account
	// will be erased and how to cancel.
	KindAccountDeletion Kind = "account_deletion"
)

// Kinds lists every kind, in a stable order.
func Kinds() []Kind {
	return []Kind{
		KindVerifyEmail, KindAccountExists, KindLoginCode, KindPasswordReset,
		KindPasswordChanged, KindNewDeviceSignIn, KindMFAChanged, KindStepUpFailed,
		KindDataExport, KindAccountDeletion, KindEmailChange, KindEmailChanged,
	}
}

// Message is one mail to one recipient.
type Message struct {
	// To is a bare address ("alice@example.com"), no display name.
	To string
	// Subject is a single line.
	Subject string
	// Text is the plain-text body; it is required.
	Text string
	// HTML is the optional HTML alternative.
	HTML string
	// Kind says what the message is for.
	Kind Kind
	// Tag is an optional, non-secret correlation label (a flow or request
	// id); it is logged and recorded, and sent as an X-Riskauth-Tag header.
	Tag string
}

// ErrInvalidMessage reports a Message that cannot be sent as it is.
var ErrInvalidMessage = errors.New("invalid mail message")

// maxTagLen bounds Tag; it is a label, not a payload.
const maxTagLen = 128

// Validate checks what every Mailer relies on: a single bare recipient
// address and header fields without line breaks, so no value can inject
// headers or extra recipients.
func (m Message) Validate() error {
	if m.To == "" {
		return fmt.Errorf("%w: no recipient", ErrInvalidMessage)
	}
	addr, err := mail.ParseAddress(m.To)
	if err != nil || addr.Name != "" || addr.Address != m.To {
		// The address is not quoted: it is personal data.
		return fmt.Errorf("%w: recipient is not a single bare address", ErrInvalidMessage)
	}
	switch {
	case m.Kind == "":
		return fmt.Errorf("%w: no kind", ErrInvalidMessage)
	case m.Subject == "":
		return fmt.Errorf("%w: no subject", ErrInvalidMessage)
	case strings.ContainsAny(m.Subject, "\r\n"):
		return fmt.Errorf("%w: subject contains a line break", ErrInvalidMessage)
	case m.Text == "":
		return fmt.Errorf("%w: no text body", ErrInvalidMessage)
	case len(m.Tag) > maxTagLen || strings.ContainsFunc(m.Tag, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%w: tag longer than %d bytes or with control characters", ErrInvalidMessage, maxTagLen)
	case strings.ContainsAny(string(m.Kind), "\r\n"):
		return fmt.Errorf("%w: kind contains a line break", ErrInvalidMessage)
	}
	return nil
}

// Mailer delivers a message. Implementations are safe for concurrent use;
// a nil error means the message was durably handed over (written and
// synced, or accepted by the SMTP server).
type Mailer interface {
	Send(ctx context.Context, msg Message) error
}

// RedactRecipient returns a loggable stand-in for an address: the first 12
// hex digits of SHA-256 of the lower-cased address, and its domain
// ("3f1a9c0d2b7e@example.com"). It lets operators correlate log lines and
// spot a failing domain without writing addresses into logs. It is a
// pseudonym, not anonymisation: anyone holding a candidate address can
// recompute it.
func RedactRecipient(addr string) string {
	addr = strings.ToLower(strings.TrimSpace(addr))
	sum := sha256.Sum256([]byte(addr))
	domain := "invalid"
	if at := strings.LastIndexByte(addr, '@'); at >= 0 && at < len(addr)-1 {
		domain = addr[at+1:]
	}
	return hex.EncodeToString(sum[:6]) + "@" + domain
}

// newID returns a random message id (128 bits, hex).
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// logAttrs are the only message facts that may be logged.
func logAttrs(id string, msg Message) []slog.Attr {
	return []slog.Attr{
		slog.String("mail_id", id),
		slog.String("kind", string(msg.Kind)),
		slog.String("tag", msg.Tag),
		slog.String("to", RedactRecipient(msg.To)),
	}
}

func discardLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
