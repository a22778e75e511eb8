package engine

import (
	"context"
	"errors"
	"fmt"
)

// ErasedState says what Engine.EraseUser removed.
type ErasedState struct {
	// Counters are the counter keys (windows) keyed by the user that went.
	Counters int
	// Pending are the pending evaluations naming the user that went.
	Pending int
}

// UserStateEraser is implemented by state stores that can delete what
// they keep about a user beyond the profile: the counters keyed by the
// user and the pending evaluations that name them. Values a store keeps
// only as hashes (the members of a distinct counter) are not the user's
// id and expire with their window.
type UserStateEraser interface {
	EraseUserState(ctx context.Context, userKeys []string) (counters, pending int, err error)
}

// EraseUser forgets a user (erasure, GDPR Art. 17) under each of
// userKeys (UserKey: the user id, and "id:" + the address for events that
// named the user only by it): the risk profile with its devices, places
// and familiarity history, the counters keyed by the user and the
// pending evaluations that name them. A store that cannot delete a part
// leaves it to its expiry; only a backend failure is an error.
func (e *Engine) EraseUser(ctx context.Context, userKeys ...string) (ErasedState, error) {
	var out ErasedState
	if pe, err := e.profileEditor(); err == nil {
		for _, k := range userKeys {
			if k == "" {
				continue
			}
			if err := pe.DeleteProfile(ctx, k); err != nil && !errors.Is(err, ErrProfileUnsupported) {
				return out, fmt.Errorf("engine: erase profile: %w", err)
			}
		}
	}
	if se, ok := e.state.(UserStateEraser); ok {
		c, p, err := se.EraseUserState(ctx, userKeys)
		out.Counters, out.Pending = c, p
		if err != nil {
			return out, fmt.Errorf("engine: erase user state: %w", err)
		}
	}
	return out, nil
}
