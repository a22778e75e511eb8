package authn

import (
	"context"

	"github.com/riskauth/riskauth/authn/mail"
)

// Every mail goes through one mechanism, deliver: the per-address cap
// (issue 17, item 6) and the same work whatever the account (item 4).
//
// The cap: at most Config.EmailSendLimit mails of one kind to one budget
// (an address, see codeBudget for login codes) per EmailSendWindow,
// reserved atomically in the shared store (EventCounter.ReserveEvent), so
// it holds across instances and under concurrency.
//
// The same work: requests that mail a link or a code (password reset,
// sign-in code) answer alike whether the address has an account, whether
// the cap holds the mail back, and whether the risk engine refused. They
// must also cost alike, or their timing gives the account away (item 4:
// throttled requests skipped their writes and answered faster than
// unknown addresses). So every such request does the same work, in the
// same order: one reservation against the cap — made for unknown
// addresses, wrong passwords and risk blocks too, and a write whether it
// is granted or refused (the store writes a refused one at the Unix
// epoch, where no count looks) — then its tokens, always hashed and
// stored (owned by nobody when nothing is sent, so they can never be
// redeemed), then one mail on the queue, whose worker renders every mail
// and drops those that must not go out.

// reserveMail reserves one mail of kind against budget under the cap and
// reports whether it may go out: mean says whether the flow means to mail
// anyone at all (false for an unknown address, a wrong password, a risk
// block), and the reservation is made either way. A store failure sends
// nothing (the cap cannot be checked) and is logged, not returned: the
// flow answers the same.
func (s *core) reserveMail(ctx context.Context, kind mail.Kind, budget string, mean bool) bool {
	now := s.clock.Now()
	w := s.cfg.EmailSendWindow
	sctx, span := startStep(ctx, spanMail)
	ok, err := s.counters.ReserveEvent(sctx, s.counterKey("mail", string(kind), budget), s.cfg.EmailSendLimit, now.Add(-w), now, now.Add(w))
	if span.IsRecording() {
		span.SetAttributes(attrMailKind.String(string(kind)))
	}
	endStep(span, err)
	switch {
	case err != nil:
		s.log.Warn("mail cap not checked, mail not sent", "kind", string(kind), "err", err)
		return false
	case !mean:
		return false
	case !ok:
		s.metrics.mailCapped(kind)
		return false
	}
	return true
}

// queueMail puts one mail of kind on the queue, rendered by the queue's
// worker with render; unless send, the worker renders it and drops it, so
// the request path does the same either way. render runs on another
// goroutine: it must only read values captured for it.
func (s *core) queueMail(send bool, kind mail.Kind, render func() (mail.Message, error)) {
	s.mail.enqueueRender(kind, render, !send)
}

// deliver mails to budget (an address) under the cap, the same work
// whether it goes out or is capped: reserveMail then queueMail, for mails
// that always mean to go out and whose tokens do not depend on whether
// they do (notifications, registration).
func (s *core) deliver(ctx context.Context, kind mail.Kind, budget string, render func() (mail.Message, error)) {
	s.queueMail(s.reserveMail(ctx, kind, budget, true), kind, render)
}

// owner is the user a token is issued to: uid when its mail goes out,
// nobody otherwise.
func owner(send bool, uid string) string {
	if send {
		return uid
	}
	return ""
}
