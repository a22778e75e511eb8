package authn

import (
	"context"

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
	rc := mail.RequestContext{When: s.clock.Now(), Device: c.UserAgent}
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
