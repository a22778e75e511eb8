package authn

import (
	"context"

	"github.com/riskauth/riskauth/authn/mail"
)

// Requests that mail a link or a code (password reset, sign-in code)
// answer alike whether the address has an account, whether the
// per-account send limit holds the mail back, and whether the risk
// engine refused. They must also cost alike, or their timing gives the
// account away (issue 17, item 4: throttled requests skipped their writes
// and answered faster than unknown addresses). So every such request does
// the same work: the send-limit count runs for unknown addresses too, a
// token is always hashed and stored (owned by nobody when nothing is
// sent, so it can never be redeemed), and a mail is always queued; the
// queue's worker renders each one and drops those that must not go out.

// mayMail reports whether a mail of kind may go to the account uid ("" for
// an unknown or disabled address, which never gets one) under the
// per-account send limit (Config.EmailSendLimit per EmailSendWindow). The
// count runs for "" too, and matches nothing.
func (s *core) mayMail(ctx context.Context, uid string, kind TokenKind) (bool, error) {
	n, err := s.tokens.CountTokensSince(ctx, uid, kind, s.clock.Now().Add(-s.cfg.EmailSendWindow))
	if err != nil {
		return false, err
	}
	return uid != "" && n < s.cfg.EmailSendLimit, nil
}

// owner is the user a token is issued to: uid when its mail goes out,
// nobody otherwise.
func owner(send bool, uid string) string {
	if send {
		return uid
	}
	return ""
}

// sendIf queues a mail of kind that the queue's worker renders with fn
// and sends; when send is false the worker renders it and drops it, so
// the request path does the same either way. fn runs on another
// goroutine: it must only read values captured for it.
func (s *core) sendIf(send bool, kind mail.Kind, fn func() (mail.Message, error)) {
	s.mail.enqueueRender(kind, fn, !send)
}
