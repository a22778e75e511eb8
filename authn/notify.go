package authn

import (
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// send renders with fn and queues the result; a rendering failure is a
// bug in templates or input and is logged, not returned, because the flow
// itself succeeded.
func (s *core) send(kind mail.Kind, fn func() (mail.Message, error)) {
	msg, err := fn()
	if err != nil {
		s.log.Error("mail not rendered", "kind", string(kind), "err", err)
		return
	}
	s.mail.enqueue(msg)
}

// notify sends a security notification of an event-only kind.
func (s *core) notify(kind mail.Kind, to string, c Client) {
	s.send(kind, func() (mail.Message, error) {
		return s.render.SecurityEvent(kind, to, s.requestContext(c))
	})
}

func (s *core) notifyMFA(to string, change mail.MFAChange, factor string, c Client) {
	s.send(mail.KindMFAChanged, func() (mail.Message, error) {
		return s.render.MFAChanged(to, change, factor, s.requestContext(c))
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
