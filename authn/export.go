package authn

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
)

// The data export (GDPR Art. 15 and 20, CCPA right to know). POST
// /v1/account/export, behind a fresh session and at most once per
// AccountConfig.ExportInterval, mails a single-use link (the token hashed
// at rest, bound to the user, valid ExportLinkTTL). Opening it where the
// user is signed in builds the bundle then, from the live stores: no copy
// of the user's data is kept waiting for the download.

// TokenDataExport is the kind of the export link's token.
const TokenDataExport TokenKind = "data_export"

// exportActivityPage is the page size the bundle reads the history with.
const exportActivityPage = 1000

// exportAttempts bounds the sign-in attempts in the bundle (they are
// kept 30 days; the throttles read far fewer).
const exportAttempts = 10000

// ExportRequest is what POST /v1/account/export did.
type ExportRequest struct {
	// ExpiresIn is how long the mailed link works.
	ExpiresIn time.Duration
}

// RequestExport mails the caller a link to their data export. It needs a
// fresh session (CodeReauthenticationRequired) and allows one export per
// ExportInterval (CodeRateLimited, RetryAfter the interval).
func (s *SelfService) RequestExport(ctx context.Context, sessionToken string, c Client) (r *ExportRequest, err error) {
	defer func() { s.metrics.result("export_request", err) }()
	sess, u, err := s.privacyUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	if _, err := (&Account{core: s.core}).requireFresh(ctx, sess); err != nil {
		return nil, err
	}
	now, every := s.clock.Now(), s.cfg.Account.ExportInterval
	ok, err := s.counters.ReserveEvent(ctx, s.counterKey("export", u.ID), 1, now.Add(-every), now, now.Add(every))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errRateLimited(every)
	}
	ttl := s.cfg.Account.ExportLinkTTL
	tok, err := s.issueLink(ctx, TokenDataExport, u.ID, ttl)
	if err != nil {
		return nil, err
	}
	rc, email, uid := s.requestContext(c), u.Email, u.ID
	s.deliver(ctx, mail.KindDataExport, email, func() (mail.Message, error) {
		return s.render.DataExport(email, mail.LinkData{Token: tok, ExpiresIn: ttl}, s.mailLocale(uid, rc))
	})
	s.emit(secevent.DataExportRequested, u, c, sess.ID, map[string]string{"expires_in": strconv.Itoa(int(ttl.Seconds()))})
	return &ExportRequest{ExpiresIn: ttl}, nil
}

// DownloadExport redeems an export link for the signed-in owner and
// returns the bundle. The link must be the caller's own (a link of
// another user, or a used, expired or superseded one, is
// CodeInvalidToken, and is not spent by the attempt).
func (s *SelfService) DownloadExport(ctx context.Context, sessionToken, linkToken string, c Client) (b *ExportBundle, err error) {
	defer func() { s.metrics.result("export_download", err) }()
	sess, u, err := s.privacyUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	h, now := tokenHash(linkToken), s.clock.Now()
	t, err := s.tokens.LiveToken(ctx, TokenDataExport, h, now)
	if errors.Is(err, ErrTokenInvalid) || err == nil && t.UserID != u.ID {
		return nil, errInvalidToken()
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.tokens.ConsumeToken(ctx, TokenDataExport, h, now); errors.Is(err, ErrTokenInvalid) {
		return nil, errInvalidToken()
	} else if err != nil {
		return nil, err
	}
	b, err = s.Bundle(ctx, u)
	if err != nil {
		return nil, err
	}
	s.emit(secevent.DataExported, u, c, sess.ID, nil)
	return b, nil
}

// Bundle builds the export of u from the live stores.
func (s *SelfService) Bundle(ctx context.Context, u *User) (*ExportBundle, error) {
	now := s.clock.Now()
	b := &ExportBundle{Format: ExportFormat, GeneratedAt: now.UTC(), UserID: u.ID,
		Account: ExportAccount{Email: u.Email, EmailVerifiedAt: optTime(u.EmailVerifiedAt), HasPassword: u.PasswordHash != "",
			PasswordChangedAt: optTime(u.PasswordChangedAt), CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(), Disabled: u.Disabled},
		Sessions: []ExportSession{}, Devices: []ExportDevice{}, Activity: []ExportEntry{}, SignInAttempts: []ExportAttempt{},
		NotIncluded: exportNotes()}
	steps := []func(context.Context, *User, *ExportBundle) error{s.exportProfile, s.exportFactors, s.exportIdentities, s.exportSessions,
		s.exportDevices, s.exportActivity, s.exportAttempts, s.exportConsents, s.exportRisk, s.exportDeletion}
	for _, step := range steps {
		if err := step(ctx, u, b); err != nil {
			return nil, fmt.Errorf("authn: export: %w", err)
		}
	}
	return b, nil
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func (s *SelfService) exportProfile(ctx context.Context, u *User, b *ExportBundle) error {
	p, err := s.profiles.Profile(ctx, u.ID)
	if err != nil {
		return err
	}
	b.Profile = ExportProfile{DisplayName: p.DisplayName, GivenName: p.GivenName, FamilyName: p.FamilyName, Locale: p.Locale,
		TimeZone: p.TimeZone, Version: p.Version, UpdatedAt: optTime(p.UpdatedAt), Attributes: []ExportAttribute{}}
	for _, a := range s.account.Attributes {
		if v, ok := p.Attributes[a.Name]; ok {
			b.Profile.Attributes = append(b.Profile.Attributes, ExportAttribute{Name: a.Name, Value: v, PersonalData: a.PersonalData,
				UserEditable: a.UserEditable})
		}
	}
	return nil
}

func (s *SelfService) exportFactors(ctx context.Context, u *User, b *ExportBundle) error {
	b.Factors.TOTP = []ExportTOTP{}
	for _, f := range []struct {
		status string
		get    func(context.Context, string) (TOTPFactor, error)
	}{{"active", s.totps.ActiveTOTP}, {"pending", s.totps.PendingTOTP}} {
		t, err := f.get(ctx, u.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		b.Factors.TOTP = append(b.Factors.TOTP, ExportTOTP{ID: t.ID, Status: f.status, CreatedAt: t.CreatedAt.UTC(),
			ConfirmedAt: optTime(t.ConfirmedAt)})
	}
	n, err := s.recovery.CountRecoveryCodes(ctx, u.ID)
	if err != nil {
		return err
	}
	b.Factors.RecoveryCodesRemaining = n
	b.Factors.Passkeys = []ExportPasskey{}
	if s.passkeys == nil {
		return nil
	}
	ps, err := s.passkeys.Passkeys(ctx, u.ID)
	for _, p := range ps {
		i := passkeyInfo(p)
		b.Factors.Passkeys = append(b.Factors.Passkeys, ExportPasskey{ID: i.ID, Name: i.Name, CreatedAt: i.CreatedAt.UTC(),
			LastUsedAt: optTime(i.LastUsedAt), BackupEligible: i.BackupEligible, Synced: i.Synced})
	}
	return err
}

func (s *SelfService) exportIdentities(ctx context.Context, u *User, b *ExportBundle) error {
	b.Identities = []ExportIdentity{}
	if s.ids == nil {
		return nil
	}
	ids, err := s.ids.Identities(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, li := range ids {
		b.Identities = append(b.Identities, ExportIdentity{ID: li.ID, Provider: li.Provider, Issuer: li.Issuer, Subject: li.Subject,
			Email: li.Email, LinkedAt: li.LinkedAt.UTC(), LastUsedAt: li.LastUsedAt.UTC()})
	}
	return nil
}

func (s *SelfService) exportSessions(ctx context.Context, u *User, b *ExportBundle) error {
	all, err := s.sessions.ListSessions(ctx, u.ID, s.clock.Now())
	for _, x := range all {
		b.Sessions = append(b.Sessions, ExportSession{ID: x.ID, AAL: int(x.AAL), CreatedAt: x.CreatedAt.UTC(), LastSeenAt: x.LastSeenAt.UTC(),
			IdleExpiresAt: x.IdleExpiresAt.UTC(), AbsoluteExpiresAt: x.AbsoluteExpiresAt.UTC(), DeviceID: x.DeviceID, IP: x.IP, UserAgent: x.UserAgent})
	}
	return err
}

func (s *SelfService) exportDevices(ctx context.Context, u *User, b *ExportBundle) error {
	if s.self.devices == nil {
		return nil
	}
	ds, err := s.self.devices.Devices(ctx, u.ID)
	for _, d := range ds {
		b.Devices = append(b.Devices, ExportDevice{DeviceID: d.DeviceID, Name: d.Name, UserAgent: d.UserAgent, IP: d.IP, City: d.City,
			Country: d.Country, FirstSeen: d.FirstSeen.UTC(), LastSeen: d.LastSeen.UTC()})
	}
	return err
}

// exportActivity reads the whole history, page by page.
func (s *SelfService) exportActivity(ctx context.Context, u *User, b *ExportBundle) error {
	if s.self.activity == nil {
		return nil
	}
	var (
		at time.Time
		id string
	)
	for {
		page, err := s.self.activity.ListActivity(ctx, u.ID, at, id, exportActivityPage)
		if err != nil {
			return err
		}
		for _, a := range page {
			b.Activity = append(b.Activity, ExportEntry{ID: a.ID, At: a.At.UTC(), Kind: a.Kind, IP: a.IP, City: a.City, Country: a.Country,
				DeviceID: a.DeviceID, UserAgent: a.UserAgent, Factor: a.Factor, Decision: a.Decision, Outcome: a.Outcome,
				SessionID: a.SessionID, EvaluationID: a.EvaluationID, DisownedAt: optTime(a.DisownedAt)})
		}
		if len(page) < exportActivityPage {
			return nil
		}
		at, id = page[len(page)-1].At, page[len(page)-1].ID
	}
}

func (s *SelfService) exportAttempts(ctx context.Context, u *User, b *ExportBundle) error {
	all, err := s.attempts.RecentLogins(ctx, u.ID, exportAttempts)
	for _, a := range all {
		b.SignInAttempts = append(b.SignInAttempts, ExportAttempt{At: a.At.UTC(), Factor: string(a.Factor), Success: a.Success, IP: a.IP,
			DeviceID: a.DeviceID, UserAgent: a.UserAgent})
	}
	return err
}

func (s *SelfService) exportConsents(ctx context.Context, u *User, b *ExportBundle) error {
	b.Consents = ExportConsents{Ledger: []ExportConsent{}}
	if s.self.consents == nil {
		b.Consents.Note = "consents are not recorded on this server"
		return nil
	}
	h, err := s.self.consents.ConsentHistory(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, r := range h {
		b.Consents.Ledger = append(b.Consents.Ledger, ExportConsent{ID: r.ID, Purpose: r.Purpose, Version: r.Version, Action: string(r.Action),
			At: r.At.UTC(), Source: r.Source, App: r.App, IP: r.IP, UserAgent: r.UserAgent, SessionID: r.SessionID})
	}
	p, err := s.self.consents.Preferences(ctx, u.ID)
	if err != nil {
		return err
	}
	b.Consents.Included = true
	b.Consents.Preferences = &ExportPreferences{Channels: nonNil(p.Channels), Topics: nonNil(p.Topics), Language: p.Language,
		Version: p.Version, UpdatedAt: optTime(p.UpdatedAt)}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *SelfService) exportRisk(ctx context.Context, u *User, b *ExportBundle) error {
	if s.self.profiler == nil {
		return nil
	}
	p, err := s.self.profiler.UserProfile(ctx, u.ID)
	if errors.Is(err, engine.ErrProfileUnsupported) {
		return nil
	}
	if err != nil {
		return err
	}
	b.RiskProfile = riskProfileOf(p)
	return nil
}

func riskProfileOf(p engine.Profile) *ExportRiskProfile {
	r := &ExportRiskProfile{Logins: p.Logins, FirstLogin: optTime(p.FirstLogin), Countries: seenOf(p.Countries), Networks: seenOf(p.ASNs),
		Devices: []ExportRiskDevice{}}
	if l := p.Last; l != nil {
		r.LastLogin = &ExportLastLogin{At: l.At.UTC(), Subnet: l.Subnet, IP: l.IP, Country: l.Country, City: l.City, ASN: l.ASN}
	}
	for _, d := range p.Devices {
		r.Devices = append(r.Devices, ExportRiskDevice{DeviceID: d.ID, First: d.First.UTC(), Last: d.Last.UTC(), Trusted: d.Trusted,
			Forgotten: d.Forgotten})
	}
	if v, ok := p.FamiliarityView(); ok {
		f := &ExportFamiliarity{Logins: v.Logins, Weighted: v.Weighted, UpdatedAt: optTime(v.UpdatedAt), Features: map[string][]ExportFamHash{}}
		for name, es := range v.Features {
			for _, e := range es {
				f.Features[name] = append(f.Features[name], ExportFamHash{Hash: strconv.FormatUint(e.Hash, 16), Weight: e.Weight})
			}
		}
		r.Familiarity = f
	}
	return r
}

func seenOf(in []engine.Seen) []ExportSeen {
	out := make([]ExportSeen, 0, len(in))
	for _, x := range in {
		out = append(out, ExportSeen{Value: x.Value, Count: x.Count, Last: x.Last.UTC()})
	}
	return out
}

func (s *SelfService) exportDeletion(ctx context.Context, u *User, b *ExportBundle) error {
	r, err := s.priv.Store.PendingDeletion(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err == nil {
		b.DeletionRequest = &ExportDeletion{RequestedAt: r.RequestedAt.UTC(), DueAt: r.DueAt.UTC()}
	}
	return err
}

// exportNotes are what the bundle cannot include, and why (docs/privacy.md).
func exportNotes() []ExportNote {
	return []ExportNote{
		{What: "security events, alerts and decisions naming you", Where: "the operator's event topics (Kafka) or the trail files in the data directory",
			Why: "they are written for the security team and are not queryable by user here; ask the operator"},
		{What: "velocity counters", Where: "memory or Redis",
			Why: "counts of recent attempts over windows of at most 90 days, kept per key; they hold no more than the attempts listed here"},
		{What: "mail sent to you", Where: "the operator's mail system", Why: "riskauth hands mail to it and keeps no copy"},
	}
}
