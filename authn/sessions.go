package authn

import (
	"context"
	"errors"
	"time"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
	"github.com/riskauth/riskauth/engine"
)

// IssuedSession is a new session. Token is shown once: the HTTP layer puts
// it in a cookie or returns it as a bearer token; only its hash is stored.
type IssuedSession struct {
	Token             string
	ID                string
	UserID            string
	AAL               AAL
	IdleExpiresAt     time.Time
	AbsoluteExpiresAt time.Time
}

// SessionInfo describes a live session (the token never appears here).
type SessionInfo struct {
	ID                string
	UserID            string
	AAL               AAL
	CreatedAt         time.Time
	LastSeenAt        time.Time
	IdleExpiresAt     time.Time
	AbsoluteExpiresAt time.Time
	DeviceID          string
	IP                string
	UserAgent         string
	// Current is true for the session the request was made with.
	Current bool
}

func infoOf(s Session, current string) SessionInfo {
	return SessionInfo{ID: s.ID, UserID: s.UserID, AAL: s.AAL, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt,
		IdleExpiresAt: s.IdleExpiresAt, AbsoluteExpiresAt: s.AbsoluteExpiresAt, DeviceID: s.DeviceID,
		IP: s.IP, UserAgent: s.UserAgent, Current: s.ID == current}
}

func (s *Service) timeouts(aal AAL) (idle, absolute time.Duration) {
	if aal >= AAL2 {
		return s.cfg.Sessions.AAL2Idle, s.cfg.Sessions.AAL2Absolute
	}
	return s.cfg.Sessions.AAL1Idle, s.cfg.Sessions.AAL1Absolute
}

// issueSession creates a session with a fresh random token: a new token on
// every sign-in and step-up, so a token planted before authentication
// (session fixation) is never promoted.
func (s *Service) issueSession(ctx context.Context, u *User, aal AAL, c Client, deviceID string) (*IssuedSession, error) {
	tok, err := token.New()
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	idle, abs := s.timeouts(aal)
	sess := Session{ID: newID(), TokenHash: sessionHash(tok), UserID: u.ID, CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(idle), AbsoluteExpiresAt: now.Add(abs), AAL: aal, DeviceID: deviceID,
		UserAgent: truncUA(c.UserAgent)}
	if c.IP.IsValid() {
		sess.IP = c.IP.Unmap().String()
	}
	if sess.IdleExpiresAt.After(sess.AbsoluteExpiresAt) {
		sess.IdleExpiresAt = sess.AbsoluteExpiresAt
	}
	if err := s.sessions.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	return &IssuedSession{Token: tok, ID: sess.ID, UserID: u.ID, AAL: aal,
		IdleExpiresAt: sess.IdleExpiresAt, AbsoluteExpiresAt: sess.AbsoluteExpiresAt}, nil
}

// session resolves a token without touching it.
func (s *Service) session(ctx context.Context, tok string) (Session, error) {
	if !token.Valid(tok) {
		return Session{}, errSession()
	}
	sess, err := s.sessions.SessionByTokenHash(ctx, sessionHash(tok), s.clock.Now())
	if errors.Is(err, ErrNotFound) {
		return Session{}, errSession()
	}
	return sess, err
}

// sessionUser resolves a token and its (enabled) owner.
func (s *Service) sessionUser(ctx context.Context, tok string) (Session, *User, error) {
	sess, err := s.session(ctx, tok)
	if err != nil {
		return Session{}, nil, err
	}
	u, err := s.users.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) || err == nil && u.Disabled {
		return Session{}, nil, errSession()
	}
	if err != nil {
		return Session{}, nil, err
	}
	return sess, &u, nil
}

// Authenticate resolves a session token for a request and slides its idle
// deadline (at most once per Config.TouchInterval, to spare the database).
func (s *Service) Authenticate(ctx context.Context, sessionToken string) (*SessionInfo, error) {
	sess, _, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchInterval {
		idle, _ := s.timeouts(sess.AAL)
		next := min64(now.Add(idle), sess.AbsoluteExpiresAt)
		if err := s.sessions.TouchSession(ctx, sess.ID, now, next); err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, errSession()
			}
			return nil, err
		}
		sess.LastSeenAt, sess.IdleExpiresAt = now, next
	}
	info := infoOf(sess, sess.ID)
	return &info, nil
}

func min64(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Logout revokes the session. An already invalid token is not an error:
// signing out twice is harmless.
func (s *Service) Logout(ctx context.Context, sessionToken string) error {
	sess, err := s.session(ctx, sessionToken)
	if CodeOf(err) == CodeSessionInvalid {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.sessions.RevokeSession(ctx, sess.UserID, sess.ID, s.clock.Now()); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// ListSessions returns the caller's live sessions, most recent first, the
// current one marked.
func (s *Service) ListSessions(ctx context.Context, sessionToken string) ([]SessionInfo, error) {
	sess, _, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	all, err := s.sessions.ListSessions(ctx, sess.UserID, s.clock.Now())
	if err != nil {
		return nil, err
	}
	out := make([]SessionInfo, len(all))
	for i, x := range all {
		out[i] = infoOf(x, sess.ID)
	}
	return out, nil
}

// RevokeSession signs out one of the caller's sessions ("sign out that
// device"); another user's session id is CodeNotFound.
func (s *Service) RevokeSession(ctx context.Context, sessionToken, sessionID string) error {
	sess, _, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return err
	}
	err = s.sessions.RevokeSession(ctx, sess.UserID, sessionID, s.clock.Now())
	if errors.Is(err, ErrNotFound) {
		return newErr(CodeNotFound, "no such session")
	}
	return err
}

// RevokeOtherSessions signs out every session of the caller but the
// current one and returns how many ended.
func (s *Service) RevokeOtherSessions(ctx context.Context, sessionToken string, c Client) (int, error) {
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return 0, err
	}
	n, err := s.sessions.RevokeOtherSessions(ctx, sess.UserID, sess.ID, s.clock.Now())
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.emit(secevent.SessionsRevoked, u, c, sess.ID, map[string]string{"reason": "user_request"})
	}
	return n, nil
}

// ReauthRequest proves the user again for a signed-in session: the
// password, and a second factor when the account has one.
type ReauthRequest struct {
	SessionToken string
	Password     string
	// TOTPCode or RecoveryCode, required when the account has TOTP.
	TOTPCode     string
	RecoveryCode string
	Client       Client
}

// Reauthenticate is step-up for a live session: it checks the factors,
// then replaces the session with a new one (new token, AAL2 when a second
// factor passed) and revokes the old, so the elevated session never
// shares a token with the weaker one. Security changes need a session
// this fresh (Config.ReauthWindow).
func (s *Service) Reauthenticate(ctx context.Context, r ReauthRequest) (is *IssuedSession, err error) {
	defer func() { s.metrics.result("reauthenticate", err) }()
	sess, u, err := s.sessionUser(ctx, r.SessionToken)
	if err != nil {
		return nil, err
	}
	ev := s.event(engine.KindLogin, u, "", r.Client)
	ev.Password = r.Password
	d, err := s.evaluateLogin(ctx, ev)
	if err != nil {
		return nil, err
	}
	// A stolen session must not become a password oracle: the same silent
	// delay per source and the same step-up alert as a sign-in.
	wait, err := s.sourceWait(ctx, u.ID, r.Client.IP, d.Keys.Device)
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		if err := s.hasher.VerifyDummy(ctx, r.Password); err != nil {
			return nil, hashErr(err)
		}
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		return nil, errLoginFailed()
	}
	ok, err := s.checkPassword(ctx, u, r.Password)
	if err != nil {
		return nil, err
	}
	s.recordAttempt(ctx, u, FactorPassword, ok, r.Client, d.Keys.Device)
	if !ok {
		s.afterPasswordFailure(ctx, u, r.Client)
		s.outcome(ctx, d.EvaluationID, engine.OutcomeFailure)
		return nil, errLoginFailed()
	}
	mfa, err := s.hasTOTP(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	aal, o := AAL1, engine.OutcomeSuccess
	if mfa {
		var factor Factor
		var ferr error
		switch {
		case r.TOTPCode != "":
			factor, ferr = FactorTOTP, s.verifyTOTP(ctx, u, r.TOTPCode)
		case r.RecoveryCode != "":
			factor, ferr = FactorRecovery, s.verifyRecovery(ctx, u, r.RecoveryCode)
		default:
			return nil, newErr(CodeInvalidCode, "a code from the authenticator app or a recovery code is required")
		}
		if ferr != nil {
			if CodeOf(ferr) != CodeInvalidCode {
				return nil, ferr
			}
			s.recordAttempt(ctx, u, factor, false, r.Client, d.Keys.Device)
			s.outcome(ctx, d.EvaluationID, engine.OutcomeStepUpFailed)
			s.stepUpFailed(ctx, u, factor, r.Client)
			return nil, ferr
		}
		s.recordAttempt(ctx, u, factor, true, r.Client, d.Keys.Device)
		aal, o = AAL2, engine.OutcomeStepUpPassed
	}
	s.outcome(ctx, d.EvaluationID, o)
	is, err = s.issueSession(ctx, u, aal, r.Client, d.Keys.Device)
	if err != nil {
		return nil, err
	}
	if err := s.sessions.RevokeSession(ctx, u.ID, sess.ID, s.clock.Now()); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	return is, nil
}

// requireFresh enforces re-authentication for security changes: the
// session must have been issued within ReauthWindow, at AAL2 when the
// account has a second factor. It reports whether the account has one.
func (s *Service) requireFresh(ctx context.Context, sess Session) (mfa bool, err error) {
	if s.clock.Now().Sub(sess.CreatedAt) > s.cfg.ReauthWindow {
		return false, newErr(CodeReauthenticationRequired, "confirm it is you first")
	}
	mfa, err = s.hasTOTP(ctx, sess.UserID)
	if err != nil {
		return false, err
	}
	if mfa && sess.AAL < AAL2 {
		return true, newErr(CodeReauthenticationRequired, "confirm it is you with your second factor first")
	}
	return mfa, nil
}
