package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/internal/httpapi/wire"
)

// The devices and activity half of the self-service API (issue 19): the
// devices riskauth knows for the user (rename, forget: the engine stops
// trusting it and the next sign-in from it steps up) and the user's own
// history of sign-ins and security events, where "this wasn't me" revokes
// what an entry created, reports it to the engine as fraud and mails a
// password reset.

// Devices are the caller's devices; *authn.SelfService implements it.
type Devices interface {
	Devices(ctx context.Context, sessionToken string) ([]authn.DeviceInfo, error)
	RenameDevice(ctx context.Context, sessionToken, deviceID, name string, c authn.Client) error
	ForgetDevice(ctx context.Context, sessionToken, deviceID string, c authn.Client) (*authn.ForgetResult, error)
}

// Activity is the caller's history; *authn.SelfService implements it.
type Activity interface {
	ListActivity(ctx context.Context, sessionToken, before string, limit int) ([]authn.Activity, error)
	DisownActivity(ctx context.Context, sessionToken, id string, c authn.Client) (*authn.DisownResult, error)
}

// SelfService is the whole self-service surface, served by one authn
// service; each handler uses only its part.
type SelfService interface {
	Profiles
	Devices
	Activity
	Privacy
	Consents
	EmailChanges
}

type (
	deviceBody struct {
		ID string `json:"id"`
		// Name is the user's name for it, else a label from its user
		// agent; Named tells which.
		Name      string    `json:"name"`
		Named     bool      `json:"named"`
		UserAgent string    `json:"user_agent,omitempty"`
		City      string    `json:"city,omitempty"`
		Country   string    `json:"country,omitempty"`
		FirstSeen time.Time `json:"first_seen"`
		LastSeen  time.Time `json:"last_seen"`
		Trusted   bool      `json:"trusted"`
		Current   bool      `json:"current"`
	}
	devicesBody struct {
		Devices []deviceBody `json:"devices"`
	}
	forgottenBody struct {
		OK              bool `json:"ok"`
		SessionsRevoked int  `json:"sessions_revoked"`
	}
	activityBody struct {
		ID        string     `json:"id"`
		At        time.Time  `json:"at"`
		Kind      string     `json:"kind"`
		IP        string     `json:"ip,omitempty"`
		City      string     `json:"city,omitempty"`
		Country   string     `json:"country,omitempty"`
		DeviceID  string     `json:"device_id,omitempty"`
		Device    string     `json:"device,omitempty"`
		Factor    string     `json:"factor,omitempty"`
		Decision  string     `json:"decision,omitempty"`
		Outcome   string     `json:"outcome,omitempty"`
		Disowned  *time.Time `json:"disowned_at,omitempty"`
		NotMePath string     `json:"not_me,omitempty"`
	}
	activityPage struct {
		Activity []activityBody `json:"activity"`
		// Next is the cursor of the following page (?before=), absent on
		// the last.
		Next string `json:"next,omitempty"`
	}
	disownedBody struct {
		OK              bool `json:"ok"`
		SessionsRevoked int  `json:"sessions_revoked"`
		FraudReported   bool `json:"fraud_reported"`
		ResetSent       bool `json:"reset_sent"`
	}
)

func (s *Server) listDevices(c *fiber.Ctx) error {
	ds, err := s.self.Devices(c.UserContext(), sessionToken(c))
	if err != nil {
		return sessionError(c, err)
	}
	out := devicesBody{Devices: make([]deviceBody, len(ds))}
	for i, d := range ds {
		out.Devices[i] = s.deviceOf(d)
	}
	return writeJSON(c, http.StatusOK, out)
}

// deviceOf is one device as the owner's list and the admin view show it.
func (s *Server) deviceOf(d authn.DeviceInfo) deviceBody {
	b := deviceBody{ID: d.ID, Name: d.Name, Named: d.Name != "", UserAgent: d.UserAgent, City: d.City, Country: d.Country,
		FirstSeen: d.FirstSeen.UTC(), LastSeen: d.LastSeen.UTC(), Trusted: d.Trusted, Current: d.Current}
	if b.Name == "" {
		b.Name = s.deviceLabel(d.UserAgent)
	}
	return b
}

// activityOf is one history entry as the owner's list and the admin view
// show it; notMe links the owner's "this wasn't me" (the admin view has
// none).
func (s *Server) activityOf(a authn.Activity, notMe bool) activityBody {
	b := activityBody{ID: a.ID, At: a.At.UTC(), Kind: a.Kind, IP: a.IP, City: a.City, Country: a.Country, DeviceID: a.DeviceID,
		Factor: a.Factor, Decision: a.Decision, Outcome: a.Outcome}
	if notMe {
		b.NotMePath = "/v1/account/activity/" + a.ID + "/not-me"
	}
	if a.UserAgent != "" || a.DeviceID != "" {
		b.Device = s.deviceLabel(a.UserAgent)
	}
	if !a.DisownedAt.IsZero() {
		t := a.DisownedAt.UTC()
		b.Disowned, b.NotMePath = &t, ""
	}
	return b
}

// pathID reads a path id, bounded like every opaque string of the API.
func pathID(c *fiber.Ctx, what string) (string, error) {
	id := c.Params("id")
	if id == "" || len(id) > wire.MaxSecretBytes {
		return "", apiErr(CodeNotFound, "no such "+what)
	}
	return id, nil
}

func (s *Server) renameDevice(c *fiber.Ctx) error {
	if !jsonContentType(c.Request().Header.ContentType()) {
		return apiErr(CodeUnsupportedMediaType, "send the body as Content-Type: application/json")
	}
	id, err := pathID(c, "device")
	if err != nil {
		return err
	}
	name, err := s.dec.DecodeDeviceName(c.Request().Body())
	if err != nil {
		return err
	}
	cl, err := s.client(c, &wire.Client{})
	if err != nil {
		return err
	}
	if err := s.self.RenameDevice(c.UserContext(), sessionToken(c), id, name, cl); err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, okBody{OK: true})
}

func (s *Server) forgetDevice(c *fiber.Ctx) error {
	id, err := pathID(c, "device")
	if err != nil {
		return err
	}
	cl, err := s.client(c, &wire.Client{})
	if err != nil {
		return err
	}
	res, err := s.self.ForgetDevice(c.UserContext(), sessionToken(c), id, cl)
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, forgottenBody{OK: true, SessionsRevoked: res.SessionsRevoked})
}

func (s *Server) listActivity(c *fiber.Ctx) error {
	limit := authn.MaxActivityPage
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > authn.MaxActivityPage {
			return invalid([]engine.FieldError{{Field: "limit", Message: "want 1-" + strconv.Itoa(authn.MaxActivityPage)}})
		}
		limit = n
	}
	before := c.Query("before")
	if len(before) > wire.MaxSecretBytes {
		return apiErr(CodeNotFound, "no such activity")
	}
	all, err := s.self.ListActivity(c.UserContext(), sessionToken(c), before, limit)
	if err != nil {
		return sessionError(c, err)
	}
	out := activityPage{Activity: make([]activityBody, len(all))}
	for i, a := range all {
		out.Activity[i] = s.activityOf(a, true)
	}
	if len(all) == limit {
		out.Next = all[len(all)-1].ID
	}
	return writeJSON(c, http.StatusOK, out)
}

func (s *Server) disownActivity(c *fiber.Ctx, _ *wire.AuthnBody, cl authn.Client) error {
	id, err := pathID(c, "activity")
	if err != nil {
		return err
	}
	res, err := s.self.DisownActivity(c.UserContext(), sessionToken(c), id, cl)
	if err != nil {
		return sessionError(c, err)
	}
	return writeJSON(c, http.StatusOK, disownedBody{OK: true, SessionsRevoked: res.SessionsRevoked, FraudReported: res.FraudReported,
		ResetSent: res.ResetSent})
}
