package authn

import (
	"context"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// deliver sends one mail under the per-address cap: at most
// Config.EmailSendLimit mails of kind to one address per EmailSendWindow,
// counted in the store across instances. to is the address the cap
// counts; render renders the mail, nil when the flow must not mail
// anything (an unknown address, a decoy flow) but has to do the same
// work as one that does: the reservation is made either way, and the
// caller answers the same whether the mail went, was capped or was never
// meant to. A rendering failure is a bug in templates or input and is
// logged, not returned, because the flow itself succeeded; a store
// failure sends nothing (the cap cannot be checked) and is logged.
func (s *core) deliver(ctx context.Context, kind mail.Kind, to string, render func() (mail.Message, error)) {
	now := s.clock.Now()
	w := s.cfg.EmailSendWindow
	ok, err := s.counters.ReserveEvent(ctx, s.counterKey("mail", string(kind), to), s.cfg.EmailSendLimit, now.Add(-w), now, now.Add(w))
	switch {
	case err != nil:
		s.log.Warn("mail cap not checked, mail not sent", "kind", string(kind), "err", err)
		return
	case render == nil:
		return
	case !ok:
		s.metrics.mailCapped(kind)
		return
	}
	msg, err := render()
	if err != nil {
		s.log.Error("mail not rendered", "kind", string(kind), "err", err)
		return
	}
	s.mail.enqueue(msg)
}

// notify sends a security notification of an event-only kind.
func (s *core) notify(ctx context.Context, kind mail.Kind, to string, c Client) {
	s.deliver(ctx, kind, to, func() (mail.Message, error) {
		return s.render.SecurityEvent(kind, to, s.requestContext(c))
	})
}

// notifyMFA tells the user their second factors changed, and how many
// other sessions the change ended.
func (s *core) notifyMFA(ctx context.Context, to string, d mail.MFAChangeData, c Client) {
	s.deliver(ctx, mail.KindMFAChanged, to, func() (mail.Message, error) {
		return s.render.MFAChanged(to, d, s.requestContext(c))
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
