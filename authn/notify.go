package authn

import (
	"context"
	"time"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// notify sends a security notification of an event-only kind, under the
// mail cap (deliver, samework.go).
func (s *core) notify(ctx context.Context, kind mail.Kind, to string, c Client) {
	rc := s.requestContext(c)
	s.deliver(ctx, kind, to, func() (mail.Message, error) {
		return s.render.SecurityEvent(kind, to, rc)
	})
}

// notifyMFA tells the user their second factors changed, and how many
// other sessions the change ended.
func (s *core) notifyMFA(ctx context.Context, to string, d mail.MFAChangeData, c Client) {
	rc := s.requestContext(c)
	s.deliver(ctx, mail.KindMFAChanged, to, func() (mail.Message, error) {
		return s.render.MFAChanged(to, d, rc)
	})
}

func (s *core) requestContext(c Client) mail.RequestContext {
	rc := mail.RequestContext{When: s.clock.Now(), Device: c.UserAgent, Lang: c.Languages}
	if c.IP.IsValid() {
		rc.IP = c.IP.String()
	}
	return rc
}

// emit sends a security event to the SOC sink, when there is one.
func (s *core) emit(t secevent.Type, u *User, c Client, sessionID string, details map[string]string) {
	s.metrics.securityEvent(t)
	s.eventActivity(t, u, c, sessionID)
	if s.events == nil {
		return
	}
	ev := &secevent.Event{Type: t, IP: c.IP, UserAgent: c.UserAgent, SessionID: sessionID,
		Time: s.clock.Now(), Details: details}
	if u != nil {
		ev.UserID, ev.Email = u.ID, u.Email
	}
	s.events.Emit(ev)
}

// mailLocaleTimeout bounds the profile read that picks a mail's language.
const mailLocaleTimeout = 2 * time.Second

// mailLocale puts the profile locale of the user uid before the
// request's languages in rc: a mail is written in the user's chosen
// language, else the browser's, else English. It is called by render
// closures, on the mail worker: the read costs the request nothing, and
// an address without an account (uid "") reads nothing there either.
func (s *core) mailLocale(uid string, rc mail.RequestContext) mail.RequestContext {
	if uid == "" || s.self.profiles == nil {
		return rc
	}
	ctx, cancel := context.WithTimeout(context.Background(), mailLocaleTimeout)
	defer cancel()
	p, err := s.self.profiles.Profile(ctx, uid)
	if err != nil || p.Locale == "" {
		return rc
	}
	if rc.Lang == "" {
		rc.Lang = p.Locale
	} else {
		rc.Lang = p.Locale + "," + rc.Lang
	}
	return rc
}
