package authn

import (
	"context"
	"errors"
	"strconv"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/authn/token"
)

// Sessions resolves session tokens on every signed-in request
// (Authenticate) and lets the user see and end their sessions. It is
// the hot path: store lookups only, no credential check, which is why
// step-up (Account.Reauthenticate) is not here, and a risk evaluation
// only when a session moves to another network or TLS fingerprint
// (AuthenticateClient, sessionuse.go). Issuing sessions is the core's, shared by SignIn and Account.
type Sessions struct {
	*core
	// uses is where each session was last allowed from (sessionuse.go).
	uses *lru.Cache[string, useMark]
}

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

func (s *core) timeouts(aal AAL) (idle, absolute time.Duration) {
	if aal >= AAL2 {
		return s.cfg.Sessions.AAL2Idle, s.cfg.Sessions.AAL2Absolute
	}
	return s.cfg.Sessions.AAL1Idle, s.cfg.Sessions.AAL1Absolute
}

// issueSession creates a session with a fresh random token: a new token on
// every sign-in and step-up, so a token planted before authentication
// (session fixation) is never promoted.
func (s *core) issueSession(ctx context.Context, u *User, aal AAL, c Client, deviceID string) (*IssuedSession, error) {
	sctx, span := startStep(ctx, spanSession)
	is, err := s.newSession(sctx, u, aal, c, deviceID)
	if span.IsRecording() {
		span.SetAttributes(attrAAL.Int(int(aal)))
	}
	endStep(span, err)
	return is, err
}

// newSession is issueSession's work, inside its span.
func (s *core) newSession(ctx context.Context, u *User, aal AAL, c Client, deviceID string) (*IssuedSession, error) {
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

// SessionRotation is what a change of factors does to the user's
// sessions: the acting one goes on under a new token (Session; the old
// token no longer works) and SessionsRevoked others were ended.
type SessionRotation struct {
	Session         *IssuedSession
	SessionsRevoked int
}

// rotateAndRevoke ends every session of u but the acting one sess, which
// goes on under a new token. After a change of factors nothing opened
// with the old ones survives (ASVS 7.4.3), including a copy of the
// acting token that may have been taken before. The new session keeps
// the acting one's assurance level, device, creation time (so it is no
// fresher than the proof behind it) and deadlines. reason goes into the
// sessions_revoked event, emitted when others ended.
func (s *core) rotateAndRevoke(ctx context.Context, sess Session, u *User, c Client, reason string) (*SessionRotation, error) {
	tok, err := token.New()
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	next := sess
	next.ID, next.TokenHash, next.LastSeenAt, next.RevokedAt = newID(), sessionHash(tok), now, time.Time{}
	if err := s.sessions.CreateSession(ctx, next); err != nil {
		return nil, err
	}
	if err := s.sessions.RevokeSession(ctx, u.ID, sess.ID, now); err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	others, err := s.sessions.RevokeOtherSessions(ctx, u.ID, next.ID, now)
	if err != nil {
		return nil, err
	}
	if others > 0 {
		s.emit(secevent.SessionsRevoked, u, c, next.ID, map[string]string{"reason": reason, "count": strconv.Itoa(others)})
	}
	is := &IssuedSession{Token: tok, ID: next.ID, UserID: u.ID, AAL: next.AAL, IdleExpiresAt: next.IdleExpiresAt,
		AbsoluteExpiresAt: next.AbsoluteExpiresAt}
	return &SessionRotation{Session: is, SessionsRevoked: others}, nil
}

// session resolves a token without touching it.
func (s *core) session(ctx context.Context, tok string) (Session, error) {
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
func (s *core) sessionUser(ctx context.Context, tok string) (Session, *User, error) {
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
func (s *Sessions) Authenticate(ctx context.Context, sessionToken string) (*SessionInfo, error) {
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

// Logout revokes the session, for client c (the audit trail records
// who signed out from where). An already invalid token is not an error:
// signing out twice is harmless.
func (s *Sessions) Logout(ctx context.Context, sessionToken string, c Client) error {
	sess, err := s.session(ctx, sessionToken)
	if CodeOf(err) == CodeSessionInvalid {
		return nil
	}
	if err != nil {
		return err
	}
	err = s.sessions.RevokeSession(ctx, sess.UserID, sess.ID, s.clock.Now())
	if errors.Is(err, ErrNotFound) {
		return nil // revoked meanwhile: someone else's event
	}
	if err != nil {
		return err
	}
	s.audit(secevent.Logout, &User{ID: sess.UserID}, "", c, sess.ID, nil)
	return nil
}

// ListSessions returns the caller's live sessions, most recent first, the
// current one marked.
func (s *Sessions) ListSessions(ctx context.Context, sessionToken string) ([]SessionInfo, error) {
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
// device") for client c; another user's session id is CodeNotFound.
func (s *Sessions) RevokeSession(ctx context.Context, sessionToken, sessionID string, c Client) error {
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return err
	}
	err = s.sessions.RevokeSession(ctx, sess.UserID, sessionID, s.clock.Now())
	if errors.Is(err, ErrNotFound) {
		return newErr(CodeNotFound, "no such session")
	}
	if err != nil {
		return err
	}
	s.audit(secevent.SessionRevoked, u, "", c, sess.ID, map[string]string{"session": sessionID})
	return nil
}

// RevokeOtherSessions signs out every session of the caller but the
// current one and returns how many ended.
func (s *Sessions) RevokeOtherSessions(ctx context.Context, sessionToken string, c Client) (int, error) {
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
