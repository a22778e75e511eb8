package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/riskauth/riskauth/authn/secevent"
)

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0). When a
// riskauth session ends, every client that got tokens from it and
// registered a backchannel_logout_uri receives a logout token: a JWT
// signed with the provider's key (typ logout+jwt), with iss, aud (the
// client), iat, exp, jti, sub, sid and the back-channel logout event,
// POSTed as the form field logout_token. A delivery is tried a bounded
// number of times with a doubling delay; each outcome is an audited event
// (oidc_backchannel_logout, details client_id, outcome delivered or
// failed, attempts).
//
// The provider learns that sessions ended from the security events
// (SessionWatch): on an event of a type that ends sessions it lists the
// user's recorded client sessions and the user's live riskauth sessions,
// and tells the clients whose session is no longer live. One worker
// handles users one by one, so the same end is never delivered twice by
// one instance; the queue is bounded and a full queue is logged, never
// blocks the sign-in path.

// LogoutEvent is the events claim member of a logout token.
const LogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// Back-channel defaults.
const (
	DefaultBackchannelAttempts = 3
	DefaultBackchannelDelay    = 2 * time.Second
	DefaultBackchannelTimeout  = 5 * time.Second
	backchannelQueue           = 1024
	logoutTokenTTL             = 2 * time.Minute
)

type backchannel struct {
	st       *storage
	client   *http.Client
	attempts int
	delay    time.Duration
	queue    chan string
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

func newBackchannel(st *storage, client *http.Client, attempts int, delay time.Duration) *backchannel {
	if client == nil {
		client = &http.Client{Timeout: DefaultBackchannelTimeout,
			// A logout token goes to the registered URI only.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	b := &backchannel{st: st, client: client, attempts: attempts, delay: delay,
		queue: make(chan string, backchannelQueue), stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

// sessionsChanged asks the worker to look at the user's sessions.
func (b *backchannel) sessionsChanged(userID string) {
	select {
	case b.queue <- userID:
	default:
		b.st.log.Warn("oidc: back-channel logout queue full; a session end is not delivered", "user_id", userID)
	}
}

func (b *backchannel) close() {
	b.once.Do(func() { close(b.stop) })
	<-b.done
}

func (b *backchannel) run() {
	defer close(b.done)
	for {
		select {
		case <-b.stop:
			return
		case uid := <-b.queue:
			b.process(context.Background(), uid)
		}
	}
}

// process tells the clients of the user's ended sessions.
func (b *backchannel) process(ctx context.Context, userID string) {
	rps, err := b.st.store.RPSessions(ctx, userID)
	if err != nil || len(rps) == 0 {
		if err != nil {
			b.st.log.ErrorContext(ctx, "oidc: back-channel logout", "err", err)
		}
		return
	}
	live := map[string]bool{}
	if b.st.sessions != nil {
		ss, err := b.st.sessions.ListSessions(ctx, userID, b.st.now())
		if err != nil {
			b.st.log.ErrorContext(ctx, "oidc: back-channel logout: sessions", "err", err)
			return
		}
		for _, s := range ss {
			live[s.ID] = true
		}
	}
	var wg sync.WaitGroup
	for _, rp := range rps {
		if live[rp.SessionID] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.tell(ctx, rp)
		}()
	}
	wg.Wait()
}

// tell delivers one logout token, with bounded retries, audits the
// outcome and forgets the record either way.
func (b *backchannel) tell(ctx context.Context, rp RPSession) {
	defer func() {
		if err := b.st.store.DeleteRPSession(ctx, rp.ClientID, rp.SessionID); err != nil {
			b.st.log.ErrorContext(ctx, "oidc: back-channel logout: forget session", "err", err)
		}
	}()
	c := b.st.find(ctx, rp.ClientID)
	if c == nil || c.cfg.BackchannelLogoutURI == "" {
		return
	}
	outcome, n := "failed", 0
	delay := b.delay
	for n < b.attempts {
		n++
		err := b.post(ctx, c, rp)
		if err == nil {
			outcome = "delivered"
			break
		}
		b.st.log.WarnContext(ctx, "oidc: back-channel logout delivery failed", "client_id", rp.ClientID, "attempt", n, "err", err)
		if n == b.attempts {
			break
		}
		t := time.NewTimer(delay)
		select {
		case <-b.stop:
			t.Stop()
			n = b.attempts
		case <-t.C:
		}
		delay *= 2
	}
	b.st.emit(ctx, secevent.OIDCBackchannelLogout, rp.UserID, rp.SessionID,
		map[string]string{"client_id": rp.ClientID, "outcome": outcome, "attempts": strconv.Itoa(n)})
}

func (b *backchannel) post(ctx context.Context, c *client, rp RPSession) error {
	tok, err := b.st.logoutToken(c.cfg.ID, rp.UserID, rp.SessionID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultBackchannelTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BackchannelLogoutURI,
		strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// logoutClaims is a logout token's payload.
type logoutClaims struct {
	Issuer    string         `json:"iss"`
	Subject   string         `json:"sub"`
	Audience  []string       `json:"aud"`
	IssuedAt  int64          `json:"iat"`
	Expiry    int64          `json:"exp"`
	JWTID     string         `json:"jti"`
	SessionID string         `json:"sid,omitempty"`
	Events    map[string]any `json:"events"`
}

// logoutToken signs a logout token for the client.
func (s *storage) logoutToken(clientID, userID, sid string) (string, error) {
	jti, err := newTokenID()
	if err != nil {
		return "", err
	}
	now := s.now()
	payload, err := json.Marshal(logoutClaims{Issuer: s.cfg.Issuer, Subject: userID, Audience: []string{clientID},
		IssuedAt: now.Unix(), Expiry: now.Add(logoutTokenTTL).Unix(), JWTID: jti, SessionID: sid,
		Events: map[string]any{LogoutEvent: map[string]any{}}})
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: jose.JSONWebKey{Key: s.signing.key, KeyID: s.signing.id}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		return "", fmt.Errorf("oidc: logout token: %w", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("oidc: logout token: %w", err)
	}
	return obj.CompactSerialize()
}

// endsSessions reports whether events of type t end sessions of the
// user (theirs, or all of them).
func endsSessions(t secevent.Type) bool {
	switch t {
	case secevent.Logout, secevent.SessionRevoked, secevent.SessionsRevoked, secevent.UserDisabled, secevent.UserDeleted,
		secevent.ActivityDisowned, secevent.PasswordChanged, secevent.PasswordReset, secevent.MFAReset:
		return true
	}
	return false
}

// SessionWatch is a security-event sink that passes every event on and
// has the provider attached to it tell clients of the sessions the event
// ended. It exists before the provider (authn emits into it from the
// start); Attach connects the provider once built.
type SessionWatch struct {
	next SecurityEvents
	p    atomic.Pointer[Provider]
}

// NewSessionWatch passes events on to next (nil: nowhere).
func NewSessionWatch(next SecurityEvents) *SessionWatch { return &SessionWatch{next: next} }

// Attach makes p hear of ended sessions.
func (w *SessionWatch) Attach(p *Provider) { w.p.Store(p) }

// Emit implements SecurityEvents.
func (w *SessionWatch) Emit(ev *secevent.Event) {
	if w.next != nil {
		w.next.Emit(ev)
	}
	if p := w.p.Load(); p != nil && ev != nil && ev.UserID != "" && endsSessions(ev.Type) {
		p.st.bc.sessionsChanged(ev.UserID)
	}
}

var _ SecurityEvents = (*SessionWatch)(nil)
