package httpapi

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
)

// The single customer view, GET /v1/admin/users/{id}: the account, its
// password's state (never the hash), second factors (kinds and dates,
// never a secret), live sessions, recent sign-in attempts, the state of
// the account threshold, and from the self-service stores and the engine
// the profile and attributes, the devices, the owner's history (with the
// engine's decisions) and a summary of the risk profile.

type userView struct {
	User     userSummary    `json:"user"`
	Password passwordView   `json:"password"`
	Factors  factorsView    `json:"factors"`
	Sessions []sessionView  `json:"sessions"`
	Recent   []attemptView  `json:"recent_activity"`
	Lockout  lockoutView    `json:"lockout"`
	Profile  *adminProfile  `json:"profile"`
	Devices  []deviceBody   `json:"devices"`
	History  []activityBody `json:"history"`
	Risk     *riskView      `json:"risk"`
	Consents *consentsBody  `json:"consents"`
	// Identities are the linked upstream identities (upstream_account.go).
	Identities []identityBody `json:"identities"`
}

// adminProfile is the profile as support sees it (every attribute, also
// those the owner may not edit); Version is the If-Match of a change.
type adminProfile struct {
	DisplayName string         `json:"display_name"`
	GivenName   string         `json:"given_name"`
	FamilyName  string         `json:"family_name"`
	Locale      string         `json:"locale"`
	TimeZone    string         `json:"time_zone"`
	Attributes  map[string]any `json:"attributes"`
	Version     int64          `json:"version"`
	UpdatedAt   *time.Time     `json:"updated_at"`
}

func adminProfileOf(p authn.Profile) *adminProfile {
	b := &adminProfile{DisplayName: p.DisplayName, GivenName: p.GivenName, FamilyName: p.FamilyName, Locale: p.Locale,
		TimeZone: p.TimeZone, Attributes: p.Attributes, Version: p.Version, UpdatedAt: optTime(p.UpdatedAt)}
	if b.Attributes == nil {
		b.Attributes = map[string]any{}
	}
	return b
}

// riskView summarises the engine's risk profile of the account.
type riskView struct {
	Logins         int        `json:"logins"`
	FirstLogin     *time.Time `json:"first_login"`
	LastLogin      *time.Time `json:"last_login"`
	LastCountry    string     `json:"last_country,omitempty"`
	Countries      int        `json:"countries"`
	Networks       int        `json:"networks"`
	Devices        int        `json:"devices"`
	TrustedDevices int        `json:"trusted_devices"`
}

type passwordView struct {
	Set bool `json:"set"`
	// Scheme is the kind of the stored hash: argon2id, none, or other
	// (an imported hash not yet rehashed).
	Scheme    string     `json:"scheme"`
	ChangedAt *time.Time `json:"changed_at"`
}

type factorView struct {
	ID          string     `json:"id"`
	CreatedAt   time.Time  `json:"created_at"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

type factorsView struct {
	TOTP                   *factorView `json:"totp"`
	TOTPPending            *factorView `json:"totp_pending"`
	RecoveryCodesRemaining int         `json:"recovery_codes_remaining"`
	// Passkeys are as the owner's list shows them (account_passkey.go).
	Passkeys []passkeyInfoBody `json:"passkeys"`
}

type sessionView struct {
	ID                string    `json:"id"`
	CreatedAt         time.Time `json:"created_at"`
	LastSeenAt        time.Time `json:"last_seen_at"`
	IdleExpiresAt     time.Time `json:"idle_expires_at"`
	AbsoluteExpiresAt time.Time `json:"absolute_expires_at"`
	AAL               int       `json:"aal"`
	DeviceID          string    `json:"device_id"`
	IP                string    `json:"ip"`
	UserAgent         string    `json:"user_agent"`
}

type attemptView struct {
	At        time.Time `json:"at"`
	Factor    string    `json:"factor"`
	Success   bool      `json:"success"`
	IP        string    `json:"ip"`
	DeviceID  string    `json:"device_id"`
	UserAgent string    `json:"user_agent"`
}

type lockoutView struct {
	// WrongPasswords counts wrong passwords within the account window;
	// Held: past the threshold, sign-in asks for an email code.
	WrongPasswords int  `json:"wrong_passwords"`
	Held           bool `json:"held"`
}

func viewFactor(f *authn.FactorView) *factorView {
	if f == nil {
		return nil
	}
	return &factorView{ID: f.ID, CreatedAt: f.CreatedAt, ConfirmedAt: optTime(f.ConfirmedAt), LastUsedAt: optTime(f.LastUsedAt)}
}

func (s *Server) viewUser(c *fiber.Ctx) error {
	v, err := s.users.ViewUser(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	u := v.User
	body := userView{
		User:     summarize(u),
		Password: passwordView{Set: u.PasswordHash != "", Scheme: v.PasswordScheme, ChangedAt: optTime(u.PasswordChangedAt)},
		Factors: factorsView{TOTP: viewFactor(v.TOTP), TOTPPending: viewFactor(v.TOTPPending), RecoveryCodesRemaining: v.RecoveryCodes,
			Passkeys: make([]passkeyInfoBody, 0, len(v.Passkeys))},
		Sessions: make([]sessionView, len(v.Sessions)),
		Recent:   make([]attemptView, len(v.Recent)),
		Lockout:  lockoutView{WrongPasswords: v.WrongPasswords, Held: v.Held},
	}
	for _, p := range v.Passkeys {
		body.Factors.Passkeys = append(body.Factors.Passkeys, passkeyJSON(p))
	}
	for i, x := range v.Sessions {
		body.Sessions[i] = sessionView{ID: x.ID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt, IdleExpiresAt: x.IdleExpiresAt,
			AbsoluteExpiresAt: x.AbsoluteExpiresAt, AAL: int(x.AAL), DeviceID: x.DeviceID, IP: x.IP, UserAgent: x.UserAgent}
	}
	for i, a := range v.Recent {
		body.Recent[i] = attemptView{At: a.At, Factor: string(a.Factor), Success: a.Success, IP: a.IP, DeviceID: a.DeviceID, UserAgent: a.UserAgent}
	}
	s.addSelfServiceView(&body, v)
	return writeJSON(c, http.StatusOK, body)
}

// addSelfServiceView fills the view's profile, devices, history and risk
// summary (empty lists, null profile and risk when not kept).
func (s *Server) addSelfServiceView(body *userView, v *authn.UserView) {
	if v.Profile != nil {
		body.Profile = adminProfileOf(*v.Profile)
	}
	body.Devices = make([]deviceBody, len(v.Devices))
	for i, d := range v.Devices {
		body.Devices[i] = s.deviceOf(d)
	}
	body.History = make([]activityBody, len(v.Activity))
	for i, a := range v.Activity {
		body.History[i] = s.activityOf(a, false)
	}
	if v.Consents != nil {
		c := consentsOf(v.Consents)
		body.Consents = &c
	}
	body.Identities = identitiesOf(v.Identities)
	if r := v.Risk; r != nil {
		body.Risk = &riskView{Logins: r.Logins, FirstLogin: optTime(r.FirstLogin), LastLogin: optTime(r.LastLogin),
			LastCountry: r.LastCountry, Countries: r.Countries, Networks: r.Networks, Devices: r.Devices, TrustedDevices: r.TrustedDevices}
	}
}
