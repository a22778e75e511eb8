package authn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/mail"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
	"golang.org/x/text/unicode/norm"
)

// Client is who is asking: the HTTP layer fills it for every request. IP
// must already be resolved through the trusted proxies; Device is what a
// client collector sent (may be nil).
type Client struct {
	IP         netip.Addr
	UserAgent  string
	Device     *engine.DeviceDescriptor
	Attributes map[string]string
}

// maxEmailLen is RFC 5321's limit on a forward path.
const maxEmailLen = 254

// NormalizeEmail returns the canonical form accounts are stored and
// looked up under: trimmed, NFC, lower-cased (providers treat the local
// part case-insensitively in practice, and two accounts differing only in
// case would be a phishing aid), and exactly one bare address.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(norm.NFC.String(strings.TrimSpace(s)))
	if s == "" || len(s) > maxEmailLen {
		return "", newErr(CodeInvalidEmail, "enter a valid email address")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.IndexByte(s, '@') <= 0 {
		return "", newErr(CodeInvalidEmail, "enter a valid email address")
	}
	return s, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// hashHex stores the hex digests the token packages return as raw bytes.
func hashHex(h string) []byte {
	b, err := hex.DecodeString(h)
	if err != nil {
		return []byte(h)
	}
	return b
}

func tokenHash(tok string) []byte { return hashHex(token.Hash(tok)) }

func sessionHash(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

// flowKey is the database id of a flow whose client handle is h: the
// handle is a bearer secret (it carries a verified password), so the
// database holds only its hash.
func flowKey(h string) string { return token.Hash(h) }

// event builds an engine event for the client; the password is added by
// the caller only where a password is being checked.
func (s *Service) event(kind string, u *User, identifier string, c Client) engine.Event {
	ev := engine.Event{Kind: kind, IP: c.IP, UserAgent: c.UserAgent, Device: c.Device,
		Attributes: c.Attributes, Time: s.clock.Now()}
	if u != nil {
		ev.UserID = u.ID
	} else {
		ev.Identifier = identifier
	}
	return ev
}

func (s *Service) evaluate(ctx context.Context, ev engine.Event) (*engine.Decision, error) {
	d, err := s.risk.Evaluate(ctx, ev)
	if err != nil {
		var ve *engine.ValidationError
		if errors.As(err, &ve) {
			return nil, &Error{Code: CodeInvalidRequest, Message: "the request has an invalid field", Err: err}
		}
		return nil, err
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		rs := make([]string, len(d.Reasons))
		for i, r := range d.Reasons {
			rs[i] = r.Rule
		}
		s.log.Debug("risk decision", "kind", ev.Kind, "user_id", ev.UserID, "evaluation_id", d.EvaluationID,
			"decision", d.Action.String(), "score", d.Score, "reasons", rs)
	}
	return d, nil
}

// outcome reports a flow result to the engine. It never fails the flow:
// an expired evaluation or a second report only costs the engine one data
// point.
func (s *Service) outcome(ctx context.Context, evaluationID string, o engine.Outcome) *engine.Pending {
	if evaluationID == "" {
		return nil
	}
	p, err := s.risk.RecordOutcome(ctx, evaluationID, o)
	if err != nil {
		lvl := slog.LevelWarn
		if errors.Is(err, engine.ErrOutcomeRecorded) {
			lvl = slog.LevelDebug
		}
		s.log.Log(ctx, lvl, "risk outcome not recorded", "evaluation_id", evaluationID, "outcome", string(o), "err", err)
		return nil
	}
	return p
}

func (s *Service) recordAttempt(ctx context.Context, u *User, f Factor, ok bool, c Client, deviceID string) {
	if u == nil {
		return
	}
	a := Attempt{UserID: u.ID, Factor: f, Success: ok, DeviceID: deviceID, UserAgent: truncUA(c.UserAgent), At: s.clock.Now()}
	if c.IP.IsValid() {
		a.IP = c.IP.Unmap().String()
	}
	if err := s.attempts.RecordAttempt(ctx, a); err != nil {
		s.log.Warn("attempt not recorded", "user_id", u.ID, "factor", string(f), "err", err)
	}
}

func truncUA(ua string) string {
	if len(ua) > engine.MaxUserAgentLen {
		return ua[:engine.MaxUserAgentLen]
	}
	return ua
}

// evaluateLogin evaluates a sign-in step; a block is the flow's failure
// outcome and the generic refusal, before any factor is checked.
func (s *Service) evaluateLogin(ctx context.Context, ev engine.Event) (*engine.Decision, error) {
	d, err := s.evaluate(ctx, ev)
	if err != nil {
		return nil, err
	}
	if d.Action == risk.Block {
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		return nil, errLoginFailed()
	}
	return d, nil
}

// lookup normalizes an identifier and finds its account, nil when there
// is none.
func (s *Service) lookup(ctx context.Context, identifier string) (string, *User, error) {
	email, err := NormalizeEmail(identifier)
	if err != nil {
		return "", nil, err
	}
	u, err := s.userByEmail(ctx, email)
	if err != nil {
		return "", nil, err
	}
	return email, u, nil
}

// userByEmail returns nil, nil for an unknown address.
func (s *Service) userByEmail(ctx context.Context, email string) (*User, error) {
	u, err := s.users.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func (s *Service) hasTOTP(ctx context.Context, userID string) (bool, error) {
	_, err := s.totps.ActiveTOTP(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// delay returns the progressive delay after n failures past a threshold:
// base, 2×base, 4×base … capped.
func (s *Service) delay(n, threshold int) time.Duration {
	if n < threshold {
		return 0
	}
	d := s.cfg.Lockout.BaseDelay
	for i := threshold; i < n && d < s.cfg.Lockout.MaxDelay; i++ {
		d *= 2
	}
	return min(d, s.cfg.Lockout.MaxDelay)
}

// recentWindow is how many attempts are scanned for the time of the last
// matching failure.
const recentWindow = 100

// lastFailure finds the newest failure matching keep among the user's
// recent attempts.
func (s *Service) lastFailure(ctx context.Context, userID string, keep func(Attempt) bool) (time.Time, error) {
	recent, err := s.attempts.RecentLogins(ctx, userID, recentWindow)
	if err != nil {
		return time.Time{}, err
	}
	for _, a := range recent {
		if !a.Success && keep(a) {
			return a.At, nil
		}
	}
	return time.Time{}, nil
}

// sourceWait is how long the (account, IP or device) source must still
// wait before its next password is checked.
func (s *Service) sourceWait(ctx context.Context, userID string, ip netip.Addr, deviceID string) (time.Duration, error) {
	now := s.clock.Now()
	ipStr := ""
	if ip.IsValid() {
		ipStr = ip.Unmap().String()
	}
	if ipStr == "" && deviceID == "" {
		return 0, nil
	}
	n, err := s.attempts.CountFailuresFrom(ctx, userID, ipStr, deviceID, now.Add(-s.cfg.Lockout.SourceWindow))
	if err != nil {
		return 0, err
	}
	d := s.delay(n, s.cfg.Lockout.SourceDelayAfter)
	if d == 0 || userID == "" {
		return 0, nil
	}
	last, err := s.lastFailure(ctx, userID, func(a Attempt) bool {
		return (ipStr != "" && a.IP == ipStr) || (deviceID != "" && a.DeviceID == deviceID)
	})
	if err != nil || last.IsZero() {
		return 0, err
	}
	return max(0, last.Add(d).Sub(now)), nil
}

// otpWait is how long the account must still wait before its next TOTP
// code is checked.
func (s *Service) otpWait(ctx context.Context, userID string) (time.Duration, error) {
	now := s.clock.Now()
	n, err := s.attempts.CountFailures(ctx, userID, FactorTOTP, now.Add(-s.cfg.Lockout.OTPWindow))
	if err != nil {
		return 0, err
	}
	d := s.delay(n, s.cfg.Lockout.OTPDelayAfter)
	if d == 0 {
		return 0, nil
	}
	last, err := s.lastFailure(ctx, userID, func(a Attempt) bool { return a.Factor == FactorTOTP })
	if err != nil || last.IsZero() {
		return 0, err
	}
	return max(0, last.Add(d).Sub(now)), nil
}
