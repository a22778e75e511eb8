package engine

import (
	"context"
	"errors"

	"github.com/riskauth/riskauth/engine/risk"
)

// ProfileEditor is implemented by state stores that let a user's risk
// profile be read and changed outside an evaluation: the user's own view
// of the devices the engine knows, forgetting one, and erasing the user.
// EditProfile runs edit inside the same read-modify-write the store uses
// for outcomes (per-user lock, or an optimistic transaction), and stores
// the profile only when edit reports a change.
type ProfileEditor interface {
	ReadProfile(ctx context.Context, user string) (Profile, error)
	EditProfile(ctx context.Context, user string, edit func(*Profile) bool) error
	// DeleteProfile removes the user's profile; none is not an error.
	DeleteProfile(ctx context.Context, user string) error
}

// ErrProfileUnsupported: the state store keeps no editable profiles.
var ErrProfileUnsupported = errors.New("the state store does not support profile edits")

func (e *Engine) profileEditor() (ProfileEditor, error) {
	pe, ok := e.state.(ProfileEditor)
	if !ok {
		return nil, ErrProfileUnsupported
	}
	return pe, nil
}

// UserProfile returns the risk profile of the user key (UserKey): zero
// for a user the engine never saw sign in.
func (e *Engine) UserProfile(ctx context.Context, user string) (Profile, error) {
	pe, err := e.profileEditor()
	if err != nil {
		return Profile{}, err
	}
	return pe.ReadProfile(ctx, user)
}

// ForgetDevice withdraws the engine's trust in one of the user's devices
// at the owner's request (a lost phone, a shared computer): the device
// stays in the profile, marked forgotten, so that it reads as unknown
// and untrusted to the rules and the next sign-in from it is at least a
// step-up (Decision.Action, reason RuleForgottenDevice) until a step-up
// from it passes. It reports whether the profile knew the device and had
// not forgotten it already.
func (e *Engine) ForgetDevice(ctx context.Context, user, device string) (bool, error) {
	pe, err := e.profileEditor()
	if err != nil {
		return false, err
	}
	found := false
	err = pe.EditProfile(ctx, user, func(p *Profile) bool {
		d := p.Device(device)
		if d == nil || d.Forgotten {
			return false
		}
		found = true
		d.Forgotten, d.Trusted = true, false
		return true
	})
	return found, err
}

// ForgetUser deletes the user's risk profile (erasure): the devices, the
// places and the familiarity history. Counters keyed by the user expire
// with their windows; pending evaluations with their TTL.
func (e *Engine) ForgetUser(ctx context.Context, user string) error {
	pe, err := e.profileEditor()
	if err != nil {
		return err
	}
	return pe.DeleteProfile(ctx, user)
}

// RuleForgottenDevice is the reason a decision names when it was raised
// to a step-up because the owner forgot the device (ForgetDevice).
const RuleForgottenDevice = "forgotten-device"

// forgottenFloor raises a decision on a device its owner forgot to at
// least a step-up, with a reason of its own: whatever the rules say, the
// owner asked for proof before that device is believed again.
func (e *Engine) forgottenFloor(c *evalCall) {
	if c.st.err != nil || c.st.snap == nil || c.keys.Device == "" {
		return
	}
	dev := c.st.snap.Profile.Device(c.keys.Device)
	if dev == nil || !dev.Forgotten {
		return
	}
	d := &c.a.d
	if d.Action < risk.StepUp {
		d.Action = risk.StepUp
		d.ShadowAction = max(d.ShadowAction, d.Action)
	}
	d.Reasons = append(d.Reasons, Reason{Rule: RuleForgottenDevice,
		Description: "the owner forgot this device: a step-up is required before it is trusted again", Action: risk.StepUp.String()})
}
