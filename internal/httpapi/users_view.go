package httpapi

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
)

// The single customer view, GET /v1/admin/users/{id}: the account, its
// password's state (never the hash), second factors (kinds and dates,
// never a secret), live sessions, recent sign-in attempts and the state of
// the account threshold. What the self-service issue adds (profile,
// attributes, devices, consents) joins it when that lands.

type userView struct {
	User     userSummary   `json:"user"`
	Password passwordView  `json:"password"`
	Factors  factorsView   `json:"factors"`
	Sessions []sessionView `json:"sessions"`
	Recent   []attemptView `json:"recent_activity"`
	Lockout  lockoutView   `json:"lockout"`
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
		Factors:  factorsView{TOTP: viewFactor(v.TOTP), TOTPPending: viewFactor(v.TOTPPending), RecoveryCodesRemaining: v.RecoveryCodes},
		Sessions: make([]sessionView, len(v.Sessions)),
		Recent:   make([]attemptView, len(v.Recent)),
		Lockout:  lockoutView{WrongPasswords: v.WrongPasswords, Held: v.Held},
	}
	for i, x := range v.Sessions {
		body.Sessions[i] = sessionView{ID: x.ID, CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt, IdleExpiresAt: x.IdleExpiresAt,
			AbsoluteExpiresAt: x.AbsoluteExpiresAt, AAL: int(x.AAL), DeviceID: x.DeviceID, IP: x.IP, UserAgent: x.UserAgent}
	}
	for i, a := range v.Recent {
		body.Recent[i] = attemptView{At: a.At, Factor: string(a.Factor), Success: a.Success, IP: a.IP, DeviceID: a.DeviceID, UserAgent: a.UserAgent}
	}
	return writeJSON(c, http.StatusOK, body)
}
