package mail

import (
	"errors"
	"time"
)

// The mails of an email change (issue 19): the link that proves the new
// address (or, on a risky session, approves the change from the current
// one), and the notice to the old address once the change took effect,
// with a link that undoes it.
const (
	KindEmailChange  Kind = "email_change"
	KindEmailChanged Kind = "email_changed"
)

// EmailChangeData is the link of an email change mail.
type EmailChangeData struct {
	// Token is the link's token; ExpiresIn how long it works.
	Token     string
	ExpiresIn time.Duration
	// NewAddress is the address the account moves to.
	NewAddress string
	// Confirm: the mail goes to the current address, whose approval a
	// risky change needs; otherwise to the new address, to prove it.
	Confirm bool
	// Context describes the request that asked for the change.
	Context RequestContext
}

// EmailChange renders the link that proves the new address, or approves
// the change from the current one (d.Confirm).
func (r *Renderer) EmailChange(to string, d EmailChangeData) (Message, error) {
	return r.emailChange(KindEmailChange, to, d)
}

// EmailChanged renders the notice to the old address, with the link that
// undoes the change within d.ExpiresIn.
func (r *Renderer) EmailChanged(to string, d EmailChangeData) (Message, error) {
	return r.emailChange(KindEmailChanged, to, d)
}

func (r *Renderer) emailChange(k Kind, to string, d EmailChangeData) (Message, error) {
	if d.Token == "" || d.ExpiresIn <= 0 || d.NewAddress == "" {
		return Message{}, errors.New("render " + string(k) + ": token, expiry and address are required")
	}
	return r.render(k, to, struct {
		common
		Link       string
		ExpiresIn  time.Duration
		NewAddress string
		Confirm    bool
		Context    RequestContext
	}{r.common(d.Context.Lang), r.link(r.cfg.Paths.EmailChange, d.Token), d.ExpiresIn, d.NewAddress, d.Confirm, d.Context.clean()})
}
