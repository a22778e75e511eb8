package oidc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine/risk"
)

// The device authorization grant (RFC 8628), for devices without a
// browser (TVs, CLIs): the device asks PathDeviceAuthorization for a
// device code and a short user code, shows the user code and the
// verification page (DefaultDevicePath), and polls the token endpoint;
// the user, signed in to riskauth in any browser, enters the code there,
// sees which client asks for what, and approves or denies. Polls answer
// authorization_pending, slow_down (a poll sooner than the interval
// after the previous one), expired_token, access_denied, or the tokens,
// once.
//
// User codes are 8 letters of a 20-consonant alphabet (no vowels, so no
// words; no look-alike digits), shown as BCDF-GHJK; entry ignores case,
// spaces and dashes. Guessing is bounded: every entry counts against the
// user (DeviceEntriesPerUser per DeviceEntryWindow) and the address
// (DeviceEntriesPerIP), whether the code was right or not, and a live
// code is a 1 in 20^8 guess. Codes are stored as SHA-256 hashes.
//
// The approval is a risk decision: the engine evaluates an event of kind
// oidc_device (the approving browser's address and user agent, the
// client as attr.client_id). block denies the device; step_up refuses an
// approval from a session the user did not just sign in with (the user
// signs in again, judged as a login).

// Paths and defaults of the device grant.
const (
	PathDeviceAuthorization = "/oauth/device_authorization"
	DefaultDevicePath       = "/oidc/device"
	EventDevice             = "oidc_device"

	DefaultDeviceLifetime     = 10 * time.Minute
	DefaultDevicePollInterval = 5 * time.Second
	DeviceEntriesPerUser      = 10
	DeviceEntriesPerIP        = 30
	DeviceEntryWindow         = 15 * time.Minute
)

// GrantTypeDeviceCode is the device grant's grant_type, for client
// configuration.
const GrantTypeDeviceCode = string(zoidc.GrantTypeDeviceCode)

var _ op.DeviceAuthorizationStorage = (*storage)(nil)

// normalizeUserCode maps what a user typed onto the stored form: upper
// case, no separators; "" when it cannot be a user code.
func normalizeUserCode(in string) string {
	if len(in) > 64 {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		switch {
		case r == '-' || r == ' ':
		case strings.ContainsRune(op.CharSetBase20, r):
			b.WriteRune(r)
		default:
			return ""
		}
	}
	if b.Len() != op.UserCodeBase20.CharAmount {
		return ""
	}
	return b.String()
}

// StoreDeviceAuthorization keeps a new device authorization.
func (s *storage) StoreDeviceAuthorization(ctx context.Context, clientID, deviceCode, userCode string, _ time.Time, scopes []string) error {
	now := s.now()
	rec := DeviceRecord{DeviceCodeHash: hashOf(deviceCode), UserCodeHash: hashOf(normalizeUserCode(userCode)), ClientID: clientID,
		Scopes: scopes, ExpiresAt: now.Add(s.cfg.DeviceLifetime)}
	if err := s.store.CreateDeviceAuth(ctx, rec, now); err != nil {
		if errors.Is(err, authn.ErrConflict) {
			return op.ErrDuplicateUserCode
		}
		return fmt.Errorf("oidc: store device authorization: %w", err)
	}
	return nil
}

// farFuture is the op package's expiry for a live device code: the
// provider's clock, not the op package's, decides expiry.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// errSlowDown is a poll sooner than the interval. The op package answers
// slow_down only for a context deadline, so the error wraps one.
var errSlowDown = fmt.Errorf("oidc: polling faster than the interval: %w", context.DeadlineExceeded)

// GetDeviceAuthorizatonState answers one poll (the op package's
// spelling).
func (s *storage) GetDeviceAuthorizatonState(ctx context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	if deviceCode == "" || len(deviceCode) > maxCodeLen {
		return nil, ErrUnknownRequest
	}
	now := s.now()
	r, err := s.store.PollDeviceAuth(ctx, hashOf(deviceCode), clientID, now)
	if err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return nil, ErrUnknownRequest
		}
		return nil, fmt.Errorf("oidc: poll: %w", err)
	}
	st := &op.DeviceAuthorizationState{ClientID: r.ClientID, Scopes: r.Scopes, Expires: farFuture}
	switch r.State {
	case DeviceDenied:
		st.Denied = true
	case DeviceConsumed:
		return nil, ErrUnknownRequest // the tokens went out already
	case DeviceApproved:
		u, err := s.users.UserByID(ctx, r.UserID)
		if err != nil || u.Disabled {
			return nil, ErrUnknownRequest
		}
		st.Done, st.Subject, st.AMR, st.AuthTime = true, r.UserID, r.AMR, r.AuthTime
	default:
		if !now.Before(r.ExpiresAt) {
			st.Expires = time.Time{}
		} else if !r.LastPollAt.IsZero() && now.Sub(r.LastPollAt) < s.cfg.DevicePollInterval {
			return nil, errSlowDown
		}
	}
	return st, nil
}

// deviceGrant is the grant of a device approval.
func deviceGrant(d *op.DeviceAuthorizationState) grant {
	return grant{Scopes: d.Scopes, Audience: d.GetAudience(), AuthTime: d.AuthTime, AMR: d.AMR, ACR: ACR(1)}
}

// DevicePrompt is what the verification page shows before the approval.
type DevicePrompt struct {
	ClientID, ClientName string
	Scopes               []ScopeInfo
}

// Errors of the verification page.
var (
	ErrUnknownUserCode  = errors.New("oidc: unknown or expired user code")
	ErrTooManyEntries   = errors.New("oidc: too many user codes entered")
	errNoDeviceCounters = errors.New("oidc: device entry needs Deps.Counter")
)

// DeviceRequest looks up a user code typed by userID (signed in) from
// the requester in ctx, counting the entry against the user and the
// address first.
func (p *Provider) DeviceRequest(ctx context.Context, userID, userCode string) (*DevicePrompt, error) {
	if err := p.st.countEntry(ctx, userID); err != nil {
		return nil, err
	}
	r, err := p.deviceRecord(ctx, userCode)
	if err != nil {
		return nil, err
	}
	c := p.st.find(ctx, r.ClientID)
	if c == nil {
		return nil, ErrUnknownUserCode
	}
	dp := &DevicePrompt{ClientID: c.cfg.ID, ClientName: c.cfg.Name}
	for _, s := range r.Scopes {
		dp.Scopes = append(dp.Scopes, ScopeInfo{Name: s, Description: describeScope(s)})
	}
	return dp, nil
}

func (p *Provider) deviceRecord(ctx context.Context, userCode string) (DeviceRecord, error) {
	code := normalizeUserCode(userCode)
	if code == "" {
		return DeviceRecord{}, ErrUnknownUserCode
	}
	r, err := p.st.store.DeviceAuthByUserCode(ctx, hashOf(code), p.st.now())
	if errors.Is(err, authn.ErrNotFound) {
		return r, ErrUnknownUserCode
	}
	if err != nil {
		return r, fmt.Errorf("oidc: device authorization: %w", err)
	}
	return r, nil
}

// countEntry bounds user-code guessing per user and per address.
func (s *storage) countEntry(ctx context.Context, userID string) error {
	if s.counter == nil {
		return errNoDeviceCounters
	}
	now := s.now()
	since, until := now.Add(-DeviceEntryWindow), now.Add(DeviceEntryWindow)
	keys := []struct {
		key   string
		limit int
	}{{"oidc-device:user:" + userID, DeviceEntriesPerUser}}
	if ip := clientOf(ctx).IP; ip.IsValid() {
		keys = append(keys, struct {
			key   string
			limit int
		}{"oidc-device:ip:" + ip.Unmap().String(), DeviceEntriesPerIP})
	}
	for _, k := range keys {
		ok, err := s.counter.ReserveEvent(ctx, []byte(k.key), k.limit, since, now, until)
		if err != nil {
			return fmt.Errorf("oidc: count device entry: %w", err)
		}
		if !ok {
			return ErrTooManyEntries
		}
	}
	return nil
}

// DecideDevice approves or denies the device authorization of userCode
// for the login l (the browser's session). An approval is judged by the
// engine first: block denies the device (ErrDenied), step_up asks for a
// fresh sign-in when l reused a session (ErrStepUp, nothing decided).
func (p *Provider) DecideDevice(ctx context.Context, userCode string, l Login, approve bool) error {
	r, err := p.deviceRecord(ctx, userCode)
	if err != nil {
		return err
	}
	d := DeviceRecord{State: DeviceDenied, UserID: l.UserID, SessionID: l.SessionID}
	var refusal error
	if approve {
		action, err := p.st.evaluate(ctx, EventDevice, l.UserID, r.ClientID)
		switch {
		case err != nil:
			return err
		case action == risk.Block:
			refusal = ErrDenied
		case action == risk.StepUp && l.Reused:
			return ErrStepUp
		default:
			at := l.AuthTime
			if at.IsZero() {
				at = p.st.now()
			}
			d.State, d.AuthTime, d.AMR = DeviceApproved, at.UTC().Truncate(time.Second), l.AMR
		}
	}
	if err := p.st.store.DecideDeviceAuth(ctx, r.UserCodeHash, d, p.st.now()); err != nil {
		if errors.Is(err, authn.ErrNotFound) {
			return ErrUnknownUserCode
		}
		return fmt.Errorf("oidc: decide device authorization: %w", err)
	}
	return refusal
}
