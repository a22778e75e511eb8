package authn

import (
	"context"
	"time"
)

// EventCounter counts events per key in the shared store, so that a limit
// holds across every instance: the per-identifier count of wrong
// passwords behind the account threshold (Lockout.AccountStepUpAfter) and
// the per-address mail cap (EmailSendLimit). Keys are opaque bytes, a
// keyed hash the caller computes (counterKey), so the store never holds
// the address or identifier itself. Each event carries its own expiry,
// after which the sweeper deletes it (Sweeper.DeleteExpired).
type EventCounter interface {
	// CountEvents counts key's events at or after since.
	CountEvents(ctx context.Context, key []byte, since time.Time) (int, error)
	// AddEvent records an event of key at at, kept until expires.
	AddEvent(ctx context.Context, key []byte, at, expires time.Time) error
	// ReserveEvent records an event of key at at, kept until expires, only
	// when fewer than limit of key's events are at or after since, and
	// reports whether it did. Count and insert are one atomic step, so
	// concurrent reservations on any number of instances never exceed
	// limit.
	ReserveEvent(ctx context.Context, key []byte, limit int, since, at, expires time.Time) (bool, error)
	// ClearEvents deletes every event of key: a correct password ends a
	// run of wrong ones.
	ClearEvents(ctx context.Context, key []byte) error
}
