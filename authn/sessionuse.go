package authn

import (
	"context"
	"errors"
	"net/netip"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// Session-level risk (issue 24): a session token (or the session an app
// trades for access tokens) that an infostealer took is replayed from the
// thief's network, with the thief's TLS stack. AuthenticateClient
// evaluates a session_use event when a live session is used from another
// network (IPv4 /24, IPv6 /48) or TLS fingerprint (JA4) than its last
// allowed use, and only then: the hot path stays a store lookup and a
// cache hit. The rules decide: allow (the new network becomes the
// session's), step-up (this session must re-authenticate; a fresh
// session is issued by Account.Reauthenticate) or block (the session is
// revoked). Both of the last two raise a session_hijack_suspected
// security event: an alert for the SOC and an entry in the user's
// activity.
//
// What the session was last allowed from is kept per instance, in a
// bounded LRU: behind a load balancer each instance checks a change once
// against the network the session was issued to (stored with it).

// sessionUseCacheSize bounds the sessions remembered per instance (about
// 100 bytes each).
const sessionUseCacheSize = 100_000

// useMark is where a session was last allowed from, or that it must
// re-authenticate.
type useMark struct {
	network netip.Prefix
	ja4     string
	reauth  bool
}

// networkOf is the network a use is compared by: a household's or an
// office's IPv4 /24 or IPv6 /48, so that DHCP and IPv6 privacy addresses
// do not count as a move.
func networkOf(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, _ := a.Prefix(bits)
	return p
}

func newSessionUses() *lru.Cache[string, useMark] {
	c, err := lru.New[string, useMark](sessionUseCacheSize)
	if err != nil {
		panic(err) // only for a size < 1
	}
	return c
}

// AuthenticateClient is Authenticate for a request from client c, with
// the session-level risk check: when the session is used from another
// network or TLS fingerprint than before, the engine decides whether it
// goes on (CodeReauthenticationRequired, or CodeSessionInvalid after a
// revocation, when not). A zero c (no address) skips the check, as for a
// backend that speaks for its user with an API key.
func (s *Sessions) AuthenticateClient(ctx context.Context, sessionToken string, c Client) (*SessionInfo, error) {
	info, err := s.Authenticate(ctx, sessionToken)
	if err != nil || s.risk == nil || !c.IP.IsValid() {
		return info, err
	}
	if err := s.checkUse(ctx, info, c); err != nil {
		return nil, err
	}
	return info, nil
}

// checkUse is the on-change evaluation of AuthenticateClient.
func (s *Sessions) checkUse(ctx context.Context, info *SessionInfo, c Client) error {
	cur := useMark{network: networkOf(c.IP), ja4: c.JA4}
	ref, seen := s.uses.Get(info.ID)
	if !seen {
		issued, err := netip.ParseAddr(info.IP)
		if err != nil {
			// Issued without an address: its first use is the reference.
			s.uses.Add(info.ID, cur)
			return nil
		}
		ref = useMark{network: networkOf(issued)}
	}
	sameTLS := ref.ja4 == "" || cur.ja4 == "" || ref.ja4 == cur.ja4
	if ref.network == cur.network && sameTLS {
		if ref.reauth {
			return errReauthSession()
		}
		if !seen || ref.ja4 == "" && cur.ja4 != "" {
			s.uses.Add(info.ID, cur) // the first fingerprint seen is the session's
		}
		return nil
	}
	ev := s.event(engine.KindSessionUse, &User{ID: info.UserID}, "", c)
	d, err := s.evaluate(ctx, ev)
	if err != nil {
		return err
	}
	details := map[string]string{"evaluation_id": d.EvaluationID, "session": info.ID}
	switch d.Action {
	case risk.Block:
		s.uses.Remove(info.ID)
		err := s.sessions.RevokeSession(ctx, info.UserID, info.ID, s.clock.Now())
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		details["action"] = "revoke"
		s.emitHijack(ctx, info.UserID, c, info.ID, details)
		return errSession()
	case risk.StepUp:
		cur.reauth = true
		s.uses.Add(info.ID, cur)
		details["action"] = "reauthenticate"
		s.emitHijack(ctx, info.UserID, c, info.ID, details)
		return errReauthSession()
	}
	s.uses.Add(info.ID, cur)
	return nil
}

// emitHijack raises session_hijack_suspected for the session's owner.
func (s *Sessions) emitHijack(ctx context.Context, userID string, c Client, sessionID string, details map[string]string) {
	u, err := s.users.UserByID(ctx, userID)
	if err != nil {
		u = User{ID: userID} // the event still names the account
	}
	s.emit(secevent.SessionHijackSuspected, &u, c, sessionID, details)
}

func errReauthSession() *Error {
	return newErr(CodeReauthenticationRequired, "this session must be confirmed again from this network")
}
