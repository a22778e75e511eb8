package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/secevent"
)

// Consent: the first authorization of a third-party client shows the user
// what the client will receive (its scopes, in words) and goes on only
// once they allow it. The grant is kept per user and client
// (ConsentStore), so later authorizations asking for no more go through
// without the screen; the user lists the clients they let in and revokes
// them (Apps, RevokeApp), which revokes the client's tokens too.
// First-party clients (ClientConfig.FirstParty) skip the screen;
// prompt=consent shows it whatever was granted before, prompt=none
// without a covering grant ends with consent_required.
//
// The consent step sits between the login step and the code: the login
// page's hook (CompleteLogin) is unchanged and simply answers with the
// consent page's URL instead of the callback's when a screen is due.

// DefaultConsentPath is the consent page CompleteLogin sends the browser
// to, with ?id= the request id.
const DefaultConsentPath = "/oidc/consent"

// SecurityEvents receives the provider's account events (consents given
// and withdrawn); authn's sink (engine/alert) implements it.
type SecurityEvents interface {
	Emit(ev *secevent.Event)
}

// ScopeInfo is one scope as the consent screen shows it.
type ScopeInfo struct {
	Name        string
	Description string
}

// describeScope says in words what a scope gives the client.
func describeScope(s string) string {
	switch s {
	case zoidc.ScopeOpenID:
		return "Know who you are: an identifier for your account"
	case zoidc.ScopeEmail:
		return "Your email address, and whether it is verified"
	case zoidc.ScopeProfile:
		return "Your profile: your user name"
	case zoidc.ScopeOfflineAccess:
		return "Keep access while you are not using it (stay signed in)"
	}
	return "Access named " + s
}

// ConsentPrompt is what the consent page shows and checks.
type ConsentPrompt struct {
	ClientID, ClientName string
	Scopes               []ScopeInfo
	// RedirectURI is where the authorization ends (form-action).
	RedirectURI string
	// UserID and SessionID are who signed in at the login step: only the
	// browser holding that session may answer.
	UserID, SessionID string
	ExpiresAt         time.Time
}

// ConsentRequest describes request id while it waits for consent.
func (p *Provider) ConsentRequest(ctx context.Context, id string) (*ConsentPrompt, error) {
	a, rec, err := p.st.request(ctx, id)
	if err != nil {
		return nil, err
	}
	c := p.st.find(ctx, a.ClientID)
	if a.Login == nil || !a.Login.ConsentPending || c == nil {
		return nil, ErrUnknownRequest
	}
	cp := &ConsentPrompt{ClientID: c.cfg.ID, ClientName: c.cfg.Name, RedirectURI: a.RedirectURI, UserID: a.Login.UserID,
		SessionID: a.Login.SessionID, ExpiresAt: rec.ExpiresAt}
	for _, s := range a.Scopes {
		cp.Scopes = append(cp.Scopes, ScopeInfo{Name: s, Description: describeScope(s)})
	}
	return cp, nil
}

// needsConsent reports whether the user must be asked before c gets a's
// scopes.
func (s *storage) needsConsent(ctx context.Context, c *client, a *authRequest, userID string) (bool, error) {
	forced := slices.Contains(a.Prompt, zoidc.PromptConsent)
	if c.cfg.FirstParty && !forced {
		return false, nil
	}
	if forced {
		return true, nil
	}
	got, err := s.store.Consent(ctx, userID, c.cfg.ID)
	if errors.Is(err, authn.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("oidc: consent: %w", err)
	}
	for _, sc := range a.Scopes {
		if !slices.Contains(got.Scopes, sc) {
			return true, nil
		}
	}
	return false, nil
}

// GrantConsent records the consent of the user who signed in for request
// id, from the browser holding sessionID, and returns where the browser
// goes on (the callback, which issues the code).
func (p *Provider) GrantConsent(ctx context.Context, id, sessionID string) (string, error) {
	a, _, err := p.st.request(ctx, id)
	if err != nil {
		return "", err
	}
	if a.Login == nil || !a.Login.ConsentPending || sessionID == "" || a.Login.SessionID != sessionID {
		return "", ErrUnknownRequest
	}
	now := p.st.now()
	scopes := slices.Clone(a.Scopes)
	if old, err := p.st.store.Consent(ctx, a.Login.UserID, a.ClientID); err == nil {
		scopes = appendNew(scopes, old.Scopes...) // a narrower request later is still covered
	} else if !errors.Is(err, authn.ErrNotFound) {
		return "", fmt.Errorf("oidc: consent: %w", err)
	}
	if err := p.st.store.SaveConsent(ctx, ConsentRecord{UserID: a.Login.UserID, ClientID: a.ClientID, Scopes: scopes, GrantedAt: now}); err != nil {
		return "", fmt.Errorf("oidc: save consent: %w", err)
	}
	a.Login.ConsentPending = false
	data, err := json.Marshal(a)
	if err != nil {
		return "", fmt.Errorf("oidc: %w", err)
	}
	if err := p.st.store.UpdateAuthRequest(ctx, id, data, now); err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return "", ErrUnknownRequest
		}
		return "", fmt.Errorf("oidc: consent: %w", err)
	}
	p.st.emit(ctx, secevent.OIDCConsentGranted, a.Login.UserID, sessionID, map[string]string{"client_id": a.ClientID, "scopes": joinScopes(a.Scopes)})
	return PathCallback + "?id=" + url.QueryEscape(id), nil
}

func joinScopes(s []string) string {
	return zoidc.SpaceDelimitedArray(s).String()
}

// App is a client the user consented to, for their self-service list.
type App struct {
	ClientID, ClientName string
	Scopes               []string
	GrantedAt            time.Time
}

// Apps lists the clients the user consented to.
func (p *Provider) Apps(ctx context.Context, userID string) ([]App, error) {
	cs, err := p.st.store.Consents(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("oidc: consents: %w", err)
	}
	out := make([]App, 0, len(cs))
	for _, c := range cs {
		app := App{ClientID: c.ClientID, ClientName: c.ClientID, Scopes: c.Scopes, GrantedAt: c.GrantedAt}
		if cl := p.st.find(ctx, c.ClientID); cl != nil {
			app.ClientName = cl.cfg.Name
		}
		out = append(out, app)
	}
	return out, nil
}

// ErrNoConsent is a revocation of a consent the user never gave.
var ErrNoConsent = errors.New("oidc: no consent to this client")

// RevokeApp withdraws the user's consent to clientID and revokes every
// token the client holds for them (its refresh tokens end at once, its
// access tokens at introspection and userinfo). sessionID is the session
// that asked, for the audit trail.
func (p *Provider) RevokeApp(ctx context.Context, userID, sessionID, clientID string) error {
	if !validClientID(clientID) {
		return ErrNoConsent
	}
	if err := p.st.store.DeleteConsent(ctx, userID, clientID, p.st.now()); err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return ErrNoConsent
		}
		return fmt.Errorf("oidc: revoke consent: %w", err)
	}
	p.st.emit(ctx, secevent.OIDCConsentRevoked, userID, sessionID, map[string]string{"client_id": clientID})
	return nil
}

// emit hands an account event to the sink, with the requester as the
// engine sees it.
func (s *storage) emit(ctx context.Context, t secevent.Type, userID, sessionID string, details map[string]string) {
	if s.events == nil {
		return
	}
	c := clientOf(ctx)
	s.events.Emit(&secevent.Event{Type: t, UserID: userID, SessionID: sessionID, IP: c.IP, UserAgent: c.UserAgent,
		Time: s.clock.Now(), Details: details})
}
