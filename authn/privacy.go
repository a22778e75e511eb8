package authn

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/riskauth/riskauth/engine"
)

// The privacy rights of issue 19: the export of everything held about a
// user (GDPR Art. 15/20, CCPA right to know; export.go) and the erasure
// of the account (Art. 17, CCPA delete; erasure.go). Both live on
// SelfService, and the erasure's execution on the background job
// (ErasureJob), which the admin API's delete uses too.

// DeletionRequest is a user's pending request to erase their account: it
// is carried out at DueAt unless the user cancels first (by signing in,
// or CancelDeletion).
type DeletionRequest struct {
	UserID      string
	RequestedAt time.Time
	DueAt       time.Time
}

// ErasureRecord is what is kept once an account is erased: that an
// erasure happened, when, and at whose request, without personal data.
// Subject is a keyed hash (HMAC-SHA256 under the server's secret) of the
// user id: it is not the id, and nobody without the secret can link it
// to one, but an operator asked "was my account erased?" by someone who
// still knows their old id can answer (accountability, Art. 5(2)).
type ErasureRecord struct {
	Subject     []byte
	RequestedAt time.Time // zero for an administrator's immediate delete
	ErasedAt    time.Time
	// Initiator is "user" or "admin".
	Initiator string
}

// ErasureStore keeps erasure requests and carries out the hard delete.
type ErasureStore interface {
	// RequestDeletion records r unless the user has a request already,
	// and returns the stored one (a second DELETE keeps the first date).
	// ErrNotFound for an unknown user.
	RequestDeletion(ctx context.Context, r DeletionRequest) (DeletionRequest, error)
	// CancelDeletion removes the user's request and reports whether there
	// was one.
	CancelDeletion(ctx context.Context, userID string) (bool, error)
	// PendingDeletion returns the user's request; ErrNotFound when none.
	PendingDeletion(ctx context.Context, userID string) (DeletionRequest, error)
	// DueDeletions returns up to limit requests due at or before now,
	// oldest first.
	DueDeletions(ctx context.Context, now time.Time, limit int) ([]DeletionRequest, error)
	// EraseUser deletes the account and every row keyed to it, in every
	// table, and stores rec, in one transaction; ErrNotFound (and no
	// record) when the account is gone already. The bytes are gone from
	// the database files too (SQLite: secure_delete and a WAL checkpoint).
	EraseUser(ctx context.Context, userID string, rec ErasureRecord) error
}

// ErasureLocker lets one instance at a time run the erasure job (a
// PostgreSQL advisory lock; SQLite is one process's). ok is false when
// another instance holds it; release frees it.
type ErasureLocker interface {
	LockErasure(ctx context.Context) (release func(), ok bool, err error)
}

// StateEraser is the part of the risk engine that forgets a user:
// *engine.Engine implements it (the risk profile and familiarity history,
// the counters keyed by the user, the pending evaluations naming them).
type StateEraser interface {
	EraseUser(ctx context.Context, userKeys ...string) (engine.ErasedState, error)
}

var _ StateEraser = (*engine.Engine)(nil)

// ErasureEvents publishes the end of a user on the events topics: the
// tombstone (a record keyed by the user with no value, so that compacted
// topics drop everything under that key) and, in the embedded mode, the
// removal of the user's lines from the local trail files. engine/alert's
// Sink implements it; optional.
type ErasureEvents interface {
	Forget(userID string, needles ...string)
}

// PrivacyDeps are the collaborators of the privacy rights; without Store
// the routes answer 503.
type PrivacyDeps struct {
	Store  ErasureStore
	Locker ErasureLocker
	// State, optional, erases the engine's state of the user.
	State StateEraser
	// Events, optional, publishes the tombstone.
	Events ErasureEvents
	// Files, optional, are other local files to scrub (the development
	// mail outbox).
	Files []ErasureEvents
}

// subjectHash is the ErasureRecord's Subject of a user id.
func (s *core) subjectHash(userID string) []byte {
	m := hmac.New(sha256.New, deriveKey(s.counterMAC, "riskauth/authn erasure subject"))
	m.Write([]byte(userID))
	return m.Sum(nil)
}

// SubjectHash is the hex form of the erasure record's subject for a user
// id, for an operator answering "was this account erased?".
func (s *Services) SubjectHash(userID string) string {
	return hex.EncodeToString(s.SignIn.subjectHash(userID))
}

// ErasureLog reads the erasure records: "was the account with this
// subject erased, and when?".
type ErasureLog interface {
	// ErasureOf returns the record of subject; ErrNotFound when none.
	ErasureOf(ctx context.Context, subject []byte) (ErasureRecord, error)
}

// PrivacyLimits are the terms a page states before the user asks for an
// export or an erasure: the grace period, the export interval and how
// long the mailed link works.
type PrivacyLimits struct {
	DeletionGrace, ExportInterval, ExportLinkTTL time.Duration
}

// PrivacyLimits returns the configured terms, so that the hosted pages
// say what will happen before the user commits to it.
func (s *SelfService) PrivacyLimits() PrivacyLimits {
	a := s.cfg.Account
	return PrivacyLimits{DeletionGrace: a.DeletionGrace, ExportInterval: a.ExportInterval, ExportLinkTTL: a.ExportLinkTTL}
}
