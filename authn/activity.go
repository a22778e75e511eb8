package authn

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// Activity is one entry of a user's own history: a sign-in or a security
// event, with what the user needs to recognise it (when, roughly where,
// from which device) and what it created (the session, the engine's
// evaluation), so that "this wasn't me" can undo it. It holds no secret.
type Activity struct {
	// ID is a UUIDv7 (time-ordered).
	ID     string
	UserID string
	At     time.Time
	// Kind is a secevent type: login_succeeded, password_changed, ...
	Kind      string
	IP        string
	City      string
	Country   string
	DeviceID  string
	UserAgent string
	// Factor is the factor of a sign-in (password, totp, email_code...).
	Factor string
	// Decision is the engine's decision for a sign-in, Outcome what the
	// flow made of it (success, step_up_passed).
	Decision     string
	Outcome      string
	SessionID    string
	EvaluationID string
	// DisownedAt is set when the user said it was not them.
	DisownedAt time.Time
}

// ActivityStore keeps the activity history, per user, bounded by a cap
// per user and by retention; deleted with the user.
type ActivityStore interface {
	// AddActivity inserts a and then drops the user's oldest entries
	// beyond keep.
	AddActivity(ctx context.Context, a Activity, keep int) error
	// ListActivity returns up to limit of the user's entries that come
	// after the entry (beforeAt, beforeID) in newest-first order (zero
	// time: from the newest).
	ListActivity(ctx context.Context, userID string, beforeAt time.Time, beforeID string, limit int) ([]Activity, error)
	// ActivityByID returns one entry of the user's; ErrNotFound for
	// another user's.
	ActivityByID(ctx context.Context, userID, id string) (Activity, error)
	// DisownActivity sets DisownedAt once: ErrConflict when it was set
	// already, ErrNotFound when unknown.
	DisownActivity(ctx context.Context, userID, id string, at time.Time) error
	// DeleteActivityBefore drops every user's entries older than before,
	// at most limit of them, and reports how many went (retention). ran
	// is false when another instance holds the retention lock (nothing
	// was done).
	DeleteActivityBefore(ctx context.Context, before time.Time, limit int) (deleted int64, ran bool, err error)
}

// SignInRecorder is implemented by stores that write a sign-in's device
// and its activity entry in one transaction (one round trip), which is
// what a completed sign-in costs when both stores are the same.
type SignInRecorder interface {
	RecordSignIn(ctx context.Context, d UserDevice, a Activity, keep int) error
}

// selfStores are the optional stores of the self-service surface that
// the other services write to (a sign-in records its device and its
// activity); every field may be nil.
type selfStores struct {
	devices  DeviceStore
	activity ActivityStore
	profiler Profiler
	// profiles are read for the language of a user's mails
	// (mailLocale); nil: the request's language only.
	profiles ProfileStore
	// consents is the consent ledger a registration and a sign-in read
	// and write (consent.go).
	consents ConsentStore
}

// activityKinds are the security events that enter the user's history
// (beside sign-ins): changes the user should be able to recognise. Not
// Lockout: it fires on an unauthenticated request, and a history write
// there for a known account only would make its answer slower than an
// unknown address's (an enumeration oracle). StepUpFailed comes after a
// right password, where the account's existence is no secret.
var activityKinds = map[secevent.Type]bool{
	secevent.PasswordChanged: true, secevent.PasswordReset: true, secevent.MFAEnrolled: true,
	secevent.MFARemoved: true, secevent.MFARecoveryRenewed: true, secevent.SessionsRevoked: true,
	secevent.StepUpFailed: true, secevent.ProfileUpdated: true,
	secevent.DeviceForgotten: true, secevent.ActivityDisowned: true, secevent.SessionHijackSuspected: true,
	secevent.ConsentGranted: true, secevent.ConsentWithdrawn: true, secevent.PreferencesUpdated: true,
	secevent.EmailChangeRequested: true,
}

// addActivity stores a for its user; best effort, like touchDevice: a
// history that misses an entry must not fail the sign-in or the change
// it records.
func (s *core) addActivity(ctx context.Context, a Activity) {
	if s.self.activity == nil || a.UserID == "" {
		return
	}
	a.ID = newID()
	if a.At.IsZero() {
		a.At = s.clock.Now()
	}
	if err := s.self.activity.AddActivity(ctx, a, s.cfg.Account.ActivityMaxPerUser); err != nil {
		s.log.Warn("activity not recorded", "user_id", a.UserID, "kind", a.Kind, "err", err)
	}
}

// signInActivity records a completed sign-in: its device and its entry
// in the history. p is the engine's pending evaluation (nil when the
// outcome was not recorded), which knows the place.
func (s *core) signInActivity(ctx context.Context, u *User, c Client, f Factor, o engine.Outcome, decision string,
	is *IssuedSession, evaluationID string, p *engine.Pending, device string) {
	a := Activity{UserID: u.ID, Kind: string(secevent.LoginSucceeded), DeviceID: device, UserAgent: truncUA(c.UserAgent),
		Factor: string(f), Decision: decision, Outcome: string(o), SessionID: is.ID, EvaluationID: evaluationID}
	if c.IP.IsValid() {
		a.IP = c.IP.Unmap().String()
	}
	if p != nil {
		a.City, a.Country = p.Place.City, p.Place.Country
	}
	if r, ok := s.self.activity.(SignInRecorder); ok && s.self.activity != nil && s.self.devices != nil && device != "" {
		a.ID, a.At = newID(), s.clock.Now()
		d := UserDevice{UserID: u.ID, DeviceID: device, UserAgent: a.UserAgent, IP: a.IP, City: a.City, Country: a.Country,
			FirstSeen: a.At, LastSeen: a.At}
		if err := r.RecordSignIn(ctx, d, a, s.cfg.Account.ActivityMaxPerUser); err != nil {
			s.log.Warn("sign-in activity not recorded", "user_id", u.ID, "err", err)
		}
		return
	}
	s.touchDevice(ctx, u, c, p, device)
	s.addActivity(ctx, a)
}

// eventActivity records a security event of an activityKinds type.
func (s *core) eventActivity(t secevent.Type, u *User, c Client, sessionID string) {
	if s.self.activity == nil || u == nil || !activityKinds[t] {
		return
	}
	// emit has no request context; the write is bounded on its own.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a := Activity{UserID: u.ID, Kind: string(t), UserAgent: truncUA(c.UserAgent), SessionID: sessionID}
	if c.IP.IsValid() {
		a.IP = c.IP.Unmap().String()
	}
	s.addActivity(ctx, a)
}

// MaxActivityPage bounds one page of GET /v1/account/activity.
const MaxActivityPage = 100

// ListActivity returns a page of the caller's history, newest first:
// limit entries (at most MaxActivityPage) after the entry before (""
// from the newest; an id that is not the caller's is CodeNotFound).
func (s *SelfService) ListActivity(ctx context.Context, sessionToken, before string, limit int) (out []Activity, err error) {
	defer func() { s.metrics.result("activity_list", err) }()
	_, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	if s.self.activity == nil {
		return nil, nil
	}
	if limit <= 0 || limit > MaxActivityPage {
		limit = MaxActivityPage
	}
	var at time.Time
	if before != "" {
		b, err := s.self.activity.ActivityByID(ctx, u.ID, before)
		if errors.Is(err, ErrNotFound) {
			return nil, newErr(CodeNotFound, "no such activity")
		}
		if err != nil {
			return nil, err
		}
		at = b.At
	}
	return s.self.activity.ListActivity(ctx, u.ID, at, before, limit)
}

// DisownResult says what "this wasn't me" did.
type DisownResult struct {
	SessionsRevoked int
	// FraudReported: the engine took the evaluation's fraud label (false
	// when the entry had none or it had expired there).
	FraudReported bool
	// ResetSent: a password reset link went to the account's address.
	ResetSent bool
}

// DisownActivity is "this wasn't me" on an entry of the caller's history:
// the sessions the entry created (and any other on its device) end, its
// evaluation is reported to the engine as fraud (the feedback loop that
// scores the rules that let it through), a password reset link is mailed
// and the SOC gets an activity_disowned event. A second report of one
// entry is CodeConflict-free: it answers CodeNotFound for unknown entries
// and does the work only once.
func (s *SelfService) DisownActivity(ctx context.Context, sessionToken, id string, c Client) (res *DisownResult, err error) {
	defer func() { s.metrics.result("activity_disown", err) }()
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	if s.self.activity == nil {
		return nil, newErr(CodeNotFound, "no such activity")
	}
	a, err := s.self.activity.ActivityByID(ctx, u.ID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, newErr(CodeNotFound, "no such activity")
	}
	if err != nil {
		return nil, err
	}
	err = s.self.activity.DisownActivity(ctx, u.ID, id, s.clock.Now())
	if errors.Is(err, ErrConflict) {
		return &DisownResult{}, nil // reported already: done once
	}
	if err != nil {
		return nil, err
	}
	res = &DisownResult{}
	now := s.clock.Now()
	if a.SessionID != "" && a.SessionID != sess.ID {
		switch err := s.sessions.RevokeSession(ctx, u.ID, a.SessionID, now); {
		case err == nil:
			res.SessionsRevoked++
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	if a.DeviceID != "" && a.DeviceID != sess.DeviceID {
		n, err := s.revokeDeviceSessions(ctx, u.ID, a.DeviceID, sess.ID)
		if err != nil {
			return nil, err
		}
		res.SessionsRevoked += n
	}
	if a.EvaluationID != "" {
		_, err := s.risk.RecordOutcome(ctx, a.EvaluationID, engine.OutcomeFraud)
		res.FraudReported = err == nil
		if err != nil {
			s.log.Info("fraud label not recorded", "evaluation_id", a.EvaluationID, "err", err)
		}
	}
	res.ResetSent = s.mailReset(ctx, u, c)
	s.emit(secevent.ActivityDisowned, u, c, sess.ID, map[string]string{"activity": a.ID, "evaluation_id": a.EvaluationID,
		"sessions_revoked": strconv.Itoa(res.SessionsRevoked)})
	return res, nil
}

// mailReset mails u a password reset link, as RequestPasswordReset does
// for a known address (token, mail cap), and reports whether it went.
func (s *core) mailReset(ctx context.Context, u *User, c Client) bool {
	send := s.reserveMail(ctx, mail.KindPasswordReset, u.Email, true)
	if !send {
		return false
	}
	tok, err := token.New()
	if err != nil {
		s.log.Warn("reset link not issued", "user_id", u.ID, "err", err)
		return false
	}
	now := s.clock.Now()
	if err := s.tokens.IssueToken(ctx, OneTimeToken{ID: newID(), Kind: TokenPasswordReset, Hash: tokenHash(tok),
		UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.ResetTTL)}); err != nil {
		s.log.Warn("reset link not issued", "user_id", u.ID, "err", err)
		return false
	}
	rc, email, uid := s.requestContext(c), u.Email, u.ID
	s.queueMail(true, mail.KindPasswordReset, func() (mail.Message, error) {
		return s.render.PasswordReset(email, mail.LinkData{Token: tok, ExpiresIn: s.cfg.ResetTTL}, s.mailLocale(uid, rc))
	})
	return true
}

// stepDecision is the engine's decision a completed step followed: a flow
// records it (a second factor makes it step_up); a one-shot sign-in
// completes only when passwordless.
func stepDecision(st step) string {
	if st.flow != nil && st.flow.Decision != "" {
		return st.flow.Decision
	}
	if st.outcome == engine.OutcomeStepUpPassed {
		return risk.StepUp.String()
	}
	return risk.Passwordless.String()
}
