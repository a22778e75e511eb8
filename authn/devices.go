package authn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
)

// UserDevice is what authn remembers of a device a user signed in from,
// beside the engine's profile entry (first and last seen, trust): the
// name the user gave it and where and with what it was last seen.
type UserDevice struct {
	UserID   string
	DeviceID string
	// Name is the user's own name for it ("" until renamed).
	Name      string
	UserAgent string
	IP        string
	City      string
	Country   string
	FirstSeen time.Time
	LastSeen  time.Time
}

// DeviceStore keeps the devices of each user, deleted with the user.
type DeviceStore interface {
	// TouchDevice records a sign-in from d: inserted when new, else its
	// user agent, address, place and LastSeen replaced (Name and
	// FirstSeen kept).
	TouchDevice(ctx context.Context, d UserDevice) error
	// Devices lists the user's devices, most recently seen first.
	Devices(ctx context.Context, userID string) ([]UserDevice, error)
	// RenameDevice sets the name; ErrNotFound for another user's device.
	RenameDevice(ctx context.Context, userID, deviceID, name string) error
	// DeleteDevice forgets the device; ErrNotFound when unknown.
	DeleteDevice(ctx context.Context, userID, deviceID string) error
}

// Profiler is the part of the risk engine that reads and edits a user's
// risk profile; *engine.Engine implements it. Optional: without it the
// device list has no trust flags and forgetting a device only forgets
// authn's record of it.
type Profiler interface {
	UserProfile(ctx context.Context, user string) (engine.Profile, error)
	ForgetDevice(ctx context.Context, user, device string) (bool, error)
	ForgetUser(ctx context.Context, user string) error
}

var _ Profiler = (*engine.Engine)(nil)

// MaxDeviceName bounds a device's name, in code points.
const MaxDeviceName = 64

// DeviceInfo is one of the user's devices as the user sees it.
type DeviceInfo struct {
	ID string
	// Name is the user's name for it, else a label from its user agent
	// ("Chrome on Windows"; the HTTP layer labels).
	Name      string
	UserAgent string
	City      string
	Country   string
	FirstSeen time.Time
	LastSeen  time.Time
	// Trusted: a step-up passed from it, so sign-ins from it are easier.
	Trusted bool
	// Current is the device of the session the request was made with.
	Current bool
}

// Devices lists the caller's devices: authn's records joined with the
// engine's trust, most recently seen first.
func (s *SelfService) Devices(ctx context.Context, sessionToken string) (out []DeviceInfo, err error) {
	defer func() { s.metrics.result("devices_list", err) }()
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	if s.self.devices == nil {
		return nil, nil
	}
	ds, err := s.self.devices.Devices(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	var prof engine.Profile
	if s.self.profiler != nil {
		if prof, err = s.self.profiler.UserProfile(ctx, u.ID); err != nil && !errors.Is(err, engine.ErrProfileUnsupported) {
			return nil, fmt.Errorf("authn: risk profile: %w", err)
		}
	}
	return deviceInfos(ds, prof, sess.DeviceID), nil
}

// deviceInfos joins authn's device records with the engine's profile:
// trust, and the earlier first sighting. current is the device of the
// asking session ("" for none: an administrator's view).
func deviceInfos(ds []UserDevice, prof engine.Profile, current string) []DeviceInfo {
	out := make([]DeviceInfo, 0, len(ds))
	for _, d := range ds {
		di := DeviceInfo{ID: d.DeviceID, Name: d.Name, UserAgent: d.UserAgent, City: d.City, Country: d.Country,
			FirstSeen: d.FirstSeen, LastSeen: d.LastSeen, Current: d.DeviceID == current && d.DeviceID != ""}
		if pd := prof.Device(d.DeviceID); pd != nil {
			di.Trusted = pd.Trusted && !pd.Forgotten
			if !pd.First.IsZero() && pd.First.Before(di.FirstSeen) {
				di.FirstSeen = pd.First
			}
		}
		out = append(out, di)
	}
	return out
}

// RenameDevice gives one of the caller's devices a name of their own;
// "" goes back to the label.
func (s *SelfService) RenameDevice(ctx context.Context, sessionToken, deviceID, name string, c Client) (err error) {
	defer func() { s.metrics.result("device_rename", err) }()
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl) || utf8.RuneCountInString(name) > MaxDeviceName {
		return &Error{Code: CodeInvalidRequest, Message: "the device name is not valid",
			Fields: []engine.FieldError{{Field: "name", Message: fmt.Sprintf("at most %d characters, no control characters", MaxDeviceName)}}}
	}
	if s.self.devices == nil {
		return newErr(CodeNotFound, "no such device")
	}
	if err := s.self.devices.RenameDevice(ctx, u.ID, deviceID, name); errors.Is(err, ErrNotFound) {
		return newErr(CodeNotFound, "no such device")
	} else if err != nil {
		return err
	}
	s.emit(secevent.DeviceRenamed, u, c, sess.ID, map[string]string{"device": deviceID})
	return nil
}

// ForgetResult says what forgetting a device ended.
type ForgetResult struct {
	// SessionsRevoked are the caller's sessions on that device that ended
	// (never the one the request was made with).
	SessionsRevoked int
}

// ForgetDevice removes one of the caller's devices: authn's record of it,
// the engine's trust in it (the next sign-in from it steps up, engine.
// ForgetDevice) and every other session of the caller on it. Forgetting
// the device the request comes from keeps this session: signing out is
// Logout.
func (s *SelfService) ForgetDevice(ctx context.Context, sessionToken, deviceID string, c Client) (res *ForgetResult, err error) {
	defer func() { s.metrics.result("device_forget", err) }()
	sess, u, err := s.sessionUser(ctx, sessionToken)
	if err != nil {
		return nil, err
	}
	known := false
	if s.self.devices != nil {
		switch err := s.self.devices.DeleteDevice(ctx, u.ID, deviceID); {
		case err == nil:
			known = true
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	if s.self.profiler != nil && deviceID != "" {
		found, err := s.self.profiler.ForgetDevice(ctx, u.ID, deviceID)
		if err != nil && !errors.Is(err, engine.ErrProfileUnsupported) {
			return nil, fmt.Errorf("authn: forget device in the risk profile: %w", err)
		}
		known = known || found
	}
	if !known {
		return nil, newErr(CodeNotFound, "no such device")
	}
	n, err := s.revokeDeviceSessions(ctx, u.ID, deviceID, sess.ID)
	if err != nil {
		return nil, err
	}
	s.emit(secevent.DeviceForgotten, u, c, sess.ID, map[string]string{"device": deviceID})
	return &ForgetResult{SessionsRevoked: n}, nil
}

// revokeDeviceSessions ends the user's live sessions on device, but keep.
func (s *core) revokeDeviceSessions(ctx context.Context, userID, device, keep string) (int, error) {
	if device == "" {
		return 0, nil
	}
	now := s.clock.Now()
	all, err := s.sessions.ListSessions(ctx, userID, now)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range all {
		if x.DeviceID != device || x.ID == keep {
			continue
		}
		if err := s.sessions.RevokeSession(ctx, userID, x.ID, now); err != nil && !errors.Is(err, ErrNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}

// touchDevice records a sign-in's device; best effort (the sign-in goes
// on when it fails: the list is a convenience, the engine's profile is
// what decides).
func (s *core) touchDevice(ctx context.Context, u *User, c Client, p *engine.Pending, device string) {
	if s.self.devices == nil || device == "" {
		return
	}
	now := s.clock.Now()
	d := UserDevice{UserID: u.ID, DeviceID: device, UserAgent: truncUA(c.UserAgent), FirstSeen: now, LastSeen: now}
	if c.IP.IsValid() {
		d.IP = c.IP.Unmap().String()
	}
	if p != nil {
		d.City, d.Country = p.Place.City, p.Place.Country
	}
	if err := s.self.devices.TouchDevice(ctx, d); err != nil {
		s.log.Warn("device not recorded", "user_id", u.ID, "err", err)
	}
}
