package authn

import (
	"context"
	"net/netip"
	"time"

	"github.com/riskauth/riskauth/authn/secevent"
)

// delay returns the progressive delay after n failures past a threshold:
// base, 2×base, 4×base … capped.
func (s *core) delay(n, threshold int) time.Duration {
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
func (s *core) lastFailure(ctx context.Context, userID string, keep func(Attempt) bool) (time.Time, error) {
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
func (s *core) sourceWait(ctx context.Context, userID string, ip netip.Addr, deviceID string) (time.Duration, error) {
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
func (s *core) otpWait(ctx context.Context, userID string) (time.Duration, error) {
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

// The account threshold. Wrong passwords are counted per identifier (an
// account's address, or an address without an account: both alike) in
// the shared store, within Lockout.AccountWindow, until a right one
// clears the count. At Lockout.AccountStepUpAfter the identifier is held:
// every password answer looks the same whether the password was right or
// wrong (held flows, see passwordFirst and checkThrottled), so guessing on
// gains nothing.

// guessKey is the EventCounter key of identifier's wrong passwords.
func (s *core) guessKey(identifier string) []byte { return s.counterKey("password", identifier) }

// guesses counts identifier's wrong passwords within AccountWindow.
func (s *core) guesses(ctx context.Context, identifier string) (int, error) {
	return s.counters.CountEvents(ctx, s.guessKey(identifier), s.clock.Now().Add(-s.cfg.Lockout.AccountWindow))
}

// held reports whether n counted wrong passwords put an identifier past
// the account threshold.
func (s *core) held(n int) bool { return n >= s.cfg.Lockout.AccountStepUpAfter }

// wrongPassword counts a wrong (or, while held, any) password for
// identifier, n being the count before it, and tells the SOC when the
// account of u crosses the threshold (once per crossing). A store
// failure is logged: the answer must not depend on it.
func (s *core) wrongPassword(ctx context.Context, identifier string, n int, u *User, c Client) {
	now := s.clock.Now()
	if err := s.counters.AddEvent(ctx, s.guessKey(identifier), now, now.Add(s.cfg.Lockout.AccountWindow)); err != nil {
		s.log.Warn("wrong password not counted", "err", err)
	}
	if u != nil && n+1 == s.cfg.Lockout.AccountStepUpAfter {
		s.emit(secevent.Lockout, u, c, "", map[string]string{"factor": string(FactorPassword), "effect": "step_up_required"})
	}
}

// rightPassword ends identifier's run of wrong passwords.
func (s *core) rightPassword(ctx context.Context, identifier string) {
	if err := s.counters.ClearEvents(ctx, s.guessKey(identifier)); err != nil {
		s.log.Warn("wrong passwords not cleared", "err", err)
	}
}

// attempt is one check of a factor, as recordAttempt stores it.
type attempt struct {
	factor  Factor
	success bool
	client  Client
	// device is the engine's device key, "" when not known here.
	device string
}

// recordAttempt stores a for the account u; unknown identifiers (u nil)
// have no history to keep. A store failure is logged, not returned: the
// flow's answer must not depend on it.
func (s *core) recordAttempt(ctx context.Context, u *User, a attempt) {
	if u == nil {
		return
	}
	rec := Attempt{UserID: u.ID, Factor: a.factor, Success: a.success, DeviceID: a.device,
		UserAgent: truncUA(a.client.UserAgent), At: s.clock.Now()}
	if a.client.IP.IsValid() {
		rec.IP = a.client.IP.Unmap().String()
	}
	if err := s.attempts.RecordAttempt(ctx, rec); err != nil {
		s.log.Warn("attempt not recorded", "user_id", u.ID, "factor", string(a.factor), "err", err)
	}
}
