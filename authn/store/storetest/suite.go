package storetest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// t0 is the suite's virtual "now"; every time is derived from it. Whole
// milliseconds, the finest precision every backend keeps.
var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// concurrency is how many goroutines race for one single-use thing.
const concurrency = 64

// Run runs the whole conformance suite. newDB is called for each subtest.
func Run(t *testing.T, newDB NewDatabase) {
	groups := []struct {
		name string
		fn   func(t *testing.T, newDB NewDatabase)
	}{
		{"Users", testUsers},
		{"TOTP", testTOTP},
		{"RecoveryCodes", testRecoveryCodes},
		{"Sessions", testSessions},
		{"Tokens", testTokens},
		{"Flows", testFlows},
		{"Attempts", testAttempts},
		{"Sweeper", testSweeper},
		{"Migrations", testMigrations},
		{"ConcurrentSignIns", testConcurrentSignIns},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			g.fn(t, newDB)
		})
	}
}

// open opens a store on a fresh database, closed when tb ends.
func open(tb testing.TB, newDB NewDatabase) Store {
	tb.Helper()
	s, err := newDB(tb).Open(tb.Context())
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func newID(tb testing.TB) string {
	tb.Helper()
	id, err := uuid.NewV7()
	require.NoError(tb, err)
	return id.String()
}

func randBytes(tb testing.TB) []byte {
	tb.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(tb, err)
	return b
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// mkUser creates an account with the given email.
func mkUser(tb testing.TB, s Store, email string) authn.User {
	tb.Helper()
	u := authn.User{ID: newID(tb), Email: email, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		CreatedAt: t0, UpdatedAt: t0}
	require.NoError(tb, s.CreateUser(tb.Context(), u))
	return u
}

// race runs fn concurrently n times, starting them together, and returns
// how many returned nil; every other error must match want.
func race(t *testing.T, n int, want error, fn func(i int) error) int {
	t.Helper()
	var (
		wins  atomic.Int64
		start = make(chan struct{})
		wg    sync.WaitGroup
		mu    sync.Mutex
		bad   []error
	)
	for i := range n {
		wg.Go(func() {
			<-start
			err := fn(i)
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, want):
				mu.Lock()
				bad = append(bad, err)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	require.Empty(t, bad, "unexpected errors (want %v)", want)
	return int(wins.Load())
}

func testUsers(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	alice := mkUser(t, s, "alice@example.com")

	t.Run("by id and email", func(t *testing.T) {
		got, err := s.UserByID(ctx, alice.ID)
		require.NoError(t, err)
		assert.Equal(t, alice, got)
		for _, email := range []string{"alice@example.com", "ALICE@Example.COM"} {
			got, err = s.UserByEmail(ctx, email)
			require.NoError(t, err, email)
			assert.Equal(t, alice.ID, got.ID)
		}
	})
	t.Run("not found", func(t *testing.T) {
		_, err := s.UserByID(ctx, newID(t))
		assert.ErrorIs(t, err, authn.ErrNotFound)
		_, err = s.UserByEmail(ctx, "nobody@example.com")
		assert.ErrorIs(t, err, authn.ErrNotFound)
		for name, err := range map[string]error{
			"set password": s.SetPassword(ctx, "missing", "x", t0),
			"verify email": s.MarkEmailVerified(ctx, "missing", t0),
			"disable":      s.SetDisabled(ctx, "missing", true, t0),
		} {
			assert.ErrorIs(t, err, authn.ErrNotFound, name)
		}
	})
	t.Run("duplicates", func(t *testing.T) {
		tests := []struct {
			name string
			user authn.User
			want error
		}{
			{"same email", authn.User{ID: newID(t), Email: "alice@example.com"}, authn.ErrEmailTaken},
			{"email differing in case", authn.User{ID: newID(t), Email: "Alice@EXAMPLE.com"}, authn.ErrEmailTaken},
			{"same id", authn.User{ID: alice.ID, Email: "other@example.com"}, authn.ErrConflict},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				assert.ErrorIs(t, s.CreateUser(ctx, tt.user), tt.want)
			})
		}
	})
	t.Run("concurrent registrations of one email", func(t *testing.T) {
		wins := race(t, 16, authn.ErrEmailTaken, func(int) error {
			return s.CreateUser(ctx, authn.User{ID: uuid.NewString(), Email: "race@example.com", CreatedAt: t0, UpdatedAt: t0})
		})
		assert.Equal(t, 1, wins)
	})
	t.Run("updates", func(t *testing.T) {
		u := mkUser(t, s, "bob@example.com")
		t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
		require.NoError(t, s.SetPassword(ctx, u.ID, "$argon2id$new", t1))
		require.NoError(t, s.MarkEmailVerified(ctx, u.ID, t1))
		require.NoError(t, s.MarkEmailVerified(ctx, u.ID, t2)) // keeps the first proof
		require.NoError(t, s.SetDisabled(ctx, u.ID, true, t2))
		got, err := s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, "$argon2id$new", got.PasswordHash)
		assert.Equal(t, t1, got.PasswordChangedAt)
		assert.Equal(t, t1, got.EmailVerifiedAt)
		assert.Equal(t, t2, got.UpdatedAt)
		assert.True(t, got.Disabled)
		// An upgrade of the hash is a compare-and-set against the old one.
		t3 := t2.Add(time.Hour)
		require.ErrorIs(t, s.ReplacePasswordHash(ctx, u.ID, "$argon2id$stale", "$argon2id$upgraded", t3), authn.ErrConflict)
		require.ErrorIs(t, s.ReplacePasswordHash(ctx, "missing", "$argon2id$new", "$argon2id$upgraded", t3), authn.ErrNotFound)
		require.NoError(t, s.ReplacePasswordHash(ctx, u.ID, "$argon2id$new", "$argon2id$upgraded", t3))
		got, err = s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, "$argon2id$upgraded", got.PasswordHash)
		assert.Equal(t, t1, got.PasswordChangedAt, "an upgrade is not a password change")
		assert.Equal(t, t3, got.UpdatedAt)
		require.NoError(t, s.SetPassword(ctx, u.ID, "", t2)) // passwordless-only
		got, err = s.UserByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Empty(t, got.PasswordHash)
	})
}

func testTOTP(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	const step = 59_000_000

	t.Run("enrol, confirm, use, replace, delete", func(t *testing.T) {
		u := mkUser(t, s, "totp@example.com")
		_, err := s.ActiveTOTP(ctx, u.ID)
		require.ErrorIs(t, err, authn.ErrNotFound)

		first := authn.TOTPFactor{ID: newID(t), UserID: u.ID, SealedSecret: []byte("sealed-1"), CreatedAt: t0}
		require.NoError(t, s.BeginTOTP(ctx, first))
		second := authn.TOTPFactor{ID: newID(t), UserID: u.ID, SealedSecret: []byte("sealed-2"), CreatedAt: t0.Add(time.Minute)}
		require.NoError(t, s.BeginTOTP(ctx, second)) // replaces the abandoned first
		p, err := s.PendingTOTP(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, second, p)
		assert.ErrorIs(t, s.ConfirmTOTP(ctx, u.ID, first.ID, step, t0), authn.ErrNotFound, "replaced enrolment")
		assert.ErrorIs(t, s.UseTOTPStep(ctx, second.ID, step), authn.ErrNotFound, "pending factor")

		require.NoError(t, s.ConfirmTOTP(ctx, u.ID, second.ID, step, t0.Add(2*time.Minute)))
		_, err = s.PendingTOTP(ctx, u.ID)
		assert.ErrorIs(t, err, authn.ErrNotFound)
		active, err := s.ActiveTOTP(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, t0.Add(2*time.Minute), active.ConfirmedAt)
		assert.Equal(t, int64(step), active.LastUsedStep)
		assert.Equal(t, []byte("sealed-2"), active.SealedSecret)

		for _, tt := range []struct {
			name string
			step int64
			want error
		}{
			{"code used to confirm", step, authn.ErrReplay},
			{"older step", step - 1, authn.ErrReplay},
			{"next step", step + 1, nil},
			{"same step again", step + 1, authn.ErrReplay},
			{"skipping ahead", step + 3, nil},
			{"back within window", step + 2, authn.ErrReplay},
		} {
			err := s.UseTOTPStep(ctx, active.ID, tt.step)
			if tt.want == nil {
				assert.NoError(t, err, tt.name)
			} else {
				assert.ErrorIs(t, err, tt.want, tt.name)
			}
		}

		// Replacing: a new enrolment leaves the active factor working
		// until it is confirmed, then the old one is gone.
		repl := authn.TOTPFactor{ID: newID(t), UserID: u.ID, SealedSecret: []byte("sealed-3"), CreatedAt: t0}
		require.NoError(t, s.BeginTOTP(ctx, repl))
		require.NoError(t, s.UseTOTPStep(ctx, active.ID, step+4))
		require.NoError(t, s.ConfirmTOTP(ctx, u.ID, repl.ID, step+5, t0))
		assert.ErrorIs(t, s.UseTOTPStep(ctx, active.ID, step+6), authn.ErrNotFound)
		got, err := s.ActiveTOTP(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, repl.ID, got.ID)

		other := mkUser(t, s, "totp-other@example.com")
		assert.ErrorIs(t, s.DeleteTOTP(ctx, other.ID, repl.ID), authn.ErrNotFound, "someone else's factor")
		require.NoError(t, s.DeleteTOTP(ctx, u.ID, repl.ID))
		_, err = s.ActiveTOTP(ctx, u.ID)
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
	t.Run("unknown user", func(t *testing.T) {
		err := s.BeginTOTP(ctx, authn.TOTPFactor{ID: newID(t), UserID: "missing", SealedSecret: []byte("x"), CreatedAt: t0})
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
	t.Run("one step, concurrent uses, one winner", func(t *testing.T) {
		u := mkUser(t, s, "totp-race@example.com")
		f := authn.TOTPFactor{ID: newID(t), UserID: u.ID, SealedSecret: []byte("s"), CreatedAt: t0}
		require.NoError(t, s.BeginTOTP(ctx, f))
		require.NoError(t, s.ConfirmTOTP(ctx, u.ID, f.ID, step, t0))
		wins := race(t, concurrency, authn.ErrReplay, func(int) error { return s.UseTOTPStep(ctx, f.ID, step+1) })
		assert.Equal(t, 1, wins)
	})
}

func testRecoveryCodes(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "rc@example.com")
	other := mkUser(t, s, "rc-other@example.com")
	codes := func(prefix string) [][]byte {
		var hs [][]byte
		for i := range 10 {
			hs = append(hs, hash(fmt.Sprintf("%s-%d", prefix, i)))
		}
		return hs
	}

	require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, codes("a"), t0))
	n, err := s.CountRecoveryCodes(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 10, n)

	require.NoError(t, s.ConsumeRecoveryCode(ctx, u.ID, hash("a-3"), t0))
	assert.ErrorIs(t, s.ConsumeRecoveryCode(ctx, u.ID, hash("a-3"), t0), authn.ErrNotFound, "second use")
	assert.ErrorIs(t, s.ConsumeRecoveryCode(ctx, other.ID, hash("a-4"), t0), authn.ErrNotFound, "another user's code")
	assert.ErrorIs(t, s.ConsumeRecoveryCode(ctx, u.ID, hash("nope"), t0), authn.ErrNotFound, "unknown code")
	n, err = s.CountRecoveryCodes(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 9, n)

	require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, codes("b"), t0))
	assert.ErrorIs(t, s.ConsumeRecoveryCode(ctx, u.ID, hash("a-4"), t0), authn.ErrNotFound, "replaced set")
	n, err = s.CountRecoveryCodes(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 10, n)

	t.Run("concurrent consumers, one winner", func(t *testing.T) {
		wins := race(t, concurrency, authn.ErrNotFound, func(int) error {
			return s.ConsumeRecoveryCode(ctx, u.ID, hash("b-7"), t0)
		})
		assert.Equal(t, 1, wins)
	})
}

// mkSession creates a live session for u with the given deadlines.
func mkSession(tb testing.TB, s Store, u authn.User, idle, abs time.Time) (authn.Session, []byte) {
	tb.Helper()
	token := randBytes(tb)
	x := authn.Session{ID: newID(tb), TokenHash: hash(string(token)), UserID: u.ID, CreatedAt: t0, LastSeenAt: t0,
		IdleExpiresAt: idle, AbsoluteExpiresAt: abs, AAL: authn.AAL2, DeviceID: "dev-1", IP: "192.0.2.1", UserAgent: "test"}
	require.NoError(tb, s.CreateSession(tb.Context(), x))
	return x, x.TokenHash
}

func testSessions(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "sess@example.com")
	idle, abs := t0.Add(30*time.Minute), t0.Add(12*time.Hour)

	t.Run("lookup", func(t *testing.T) {
		x, h := mkSession(t, s, u, idle, abs)
		got, err := s.SessionByTokenHash(ctx, h, t0)
		require.NoError(t, err)
		assert.Equal(t, x, got)
		_, err = s.SessionByTokenHash(ctx, hash("other"), t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)
		dup := x
		dup.ID = newID(t)
		assert.ErrorIs(t, s.CreateSession(ctx, dup), authn.ErrConflict, "same token hash")
	})
	t.Run("idle expiry", func(t *testing.T) {
		_, h := mkSession(t, s, u, idle, abs)
		for _, tt := range []struct {
			at   time.Time
			live bool
		}{
			{idle.Add(-time.Millisecond), true},
			{idle, false},
			{idle.Add(time.Hour), false},
		} {
			_, err := s.SessionByTokenHash(ctx, h, tt.at)
			if tt.live {
				assert.NoError(t, err, tt.at)
			} else {
				assert.ErrorIs(t, err, authn.ErrNotFound, tt.at)
			}
		}
	})
	t.Run("touch slides idle, never past absolute", func(t *testing.T) {
		x, h := mkSession(t, s, u, idle, abs)
		now := t0.Add(20 * time.Minute)
		require.NoError(t, s.TouchSession(ctx, x.ID, now, now.Add(30*time.Minute)))
		got, err := s.SessionByTokenHash(ctx, h, idle.Add(time.Minute)) // past the original idle deadline
		require.NoError(t, err)
		assert.Equal(t, now, got.LastSeenAt)
		assert.Equal(t, now.Add(30*time.Minute), got.IdleExpiresAt)

		// An older touch arriving late does not shorten the session.
		require.NoError(t, s.TouchSession(ctx, x.ID, t0.Add(time.Minute), t0.Add(31*time.Minute)))
		got, err = s.SessionByTokenHash(ctx, h, now)
		require.NoError(t, err)
		assert.Equal(t, now.Add(30*time.Minute), got.IdleExpiresAt)

		// Keep it busy until the absolute deadline: it still ends there.
		late := abs.Add(-10 * time.Minute)
		require.NoError(t, s.TouchSession(ctx, x.ID, now, late)) // jump the idle deadline close to the end
		require.NoError(t, s.TouchSession(ctx, x.ID, late.Add(-time.Minute), late.Add(time.Hour)))
		got, err = s.SessionByTokenHash(ctx, h, abs.Add(-time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, abs, got.IdleExpiresAt, "idle deadline capped at absolute")
		_, err = s.SessionByTokenHash(ctx, h, abs)
		assert.ErrorIs(t, err, authn.ErrNotFound, "absolute expiry")
		assert.ErrorIs(t, s.TouchSession(ctx, x.ID, abs, abs.Add(time.Hour)), authn.ErrNotFound, "expired sessions are not revived")
	})
	t.Run("touch after idle expiry", func(t *testing.T) {
		x, h := mkSession(t, s, u, idle, abs)
		assert.ErrorIs(t, s.TouchSession(ctx, x.ID, idle, idle.Add(30*time.Minute)), authn.ErrNotFound)
		_, err := s.SessionByTokenHash(ctx, h, idle.Add(time.Minute))
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
	t.Run("revoke", func(t *testing.T) {
		x, h := mkSession(t, s, u, idle, abs)
		mallory := mkUser(t, s, "mallory@example.com")
		assert.ErrorIs(t, s.RevokeSession(ctx, mallory.ID, x.ID, t0), authn.ErrNotFound, "not the owner")
		_, err := s.SessionByTokenHash(ctx, h, t0)
		require.NoError(t, err)
		require.NoError(t, s.RevokeSession(ctx, u.ID, x.ID, t0))
		_, err = s.SessionByTokenHash(ctx, h, t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)
		assert.ErrorIs(t, s.RevokeSession(ctx, u.ID, x.ID, t0), authn.ErrNotFound, "twice")
		assert.ErrorIs(t, s.TouchSession(ctx, x.ID, t0, idle), authn.ErrNotFound, "revoked sessions are not revived")
	})
	t.Run("list and revoke others", func(t *testing.T) {
		v := mkUser(t, s, "devices@example.com")
		var keep authn.Session
		for i := range 4 {
			x, _ := mkSession(t, s, v, idle, abs)
			require.NoError(t, s.TouchSession(ctx, x.ID, t0.Add(time.Duration(i)*time.Minute), idle))
			if i == 1 {
				keep = x
			}
		}
		mkSession(t, s, v, t0.Add(time.Minute), abs) // idles out before we look
		list, err := s.ListSessions(ctx, v.ID, t0.Add(5*time.Minute))
		require.NoError(t, err)
		require.Len(t, list, 4)
		for i := 1; i < len(list); i++ {
			assert.False(t, list[i].LastSeenAt.After(list[i-1].LastSeenAt), "most recent first")
		}
		n, err := s.RevokeOtherSessions(ctx, v.ID, keep.ID, t0.Add(5*time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		list, err = s.ListSessions(ctx, v.ID, t0.Add(5*time.Minute))
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, keep.ID, list[0].ID)
		n, err = s.RevokeOtherSessions(ctx, v.ID, "", t0.Add(6*time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 1, n, "empty except revokes all")
	})
}

func mkToken(tb testing.TB, s Store, kind authn.TokenKind, userID, flowID, secret string, created time.Time, maxAttempts int) authn.OneTimeToken {
	tb.Helper()
	tok := authn.OneTimeToken{ID: newID(tb), Kind: kind, Hash: hash(secret), UserID: userID, FlowID: flowID,
		CreatedAt: created, ExpiresAt: created.Add(15 * time.Minute), MaxAttempts: maxAttempts}
	require.NoError(tb, s.IssueToken(tb.Context(), tok))
	return tok
}

func testTokens(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "tok@example.com")
	v := mkUser(t, s, "tok-other@example.com")

	t.Run("consume once", func(t *testing.T) {
		tok := mkToken(t, s, authn.TokenPasswordReset, u.ID, "", "reset-1", t0, 0)
		_, err := s.ConsumeToken(ctx, authn.TokenMagicLink, tok.Hash, t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "wrong kind")
		got, err := s.ConsumeToken(ctx, authn.TokenPasswordReset, tok.Hash, t0.Add(time.Minute))
		require.NoError(t, err)
		want := tok
		want.UsedAt = t0.Add(time.Minute)
		assert.Equal(t, want, got)
		_, err = s.ConsumeToken(ctx, authn.TokenPasswordReset, tok.Hash, t0.Add(time.Minute))
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "second use")
	})
	t.Run("live token is a peek", func(t *testing.T) {
		tok := mkToken(t, s, authn.TokenPasswordReset, u.ID, "", "reset-peek", t0, 0)
		_, err := s.LiveToken(ctx, authn.TokenMagicLink, tok.Hash, t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "wrong kind")
		_, err = s.LiveToken(ctx, authn.TokenPasswordReset, tok.Hash, tok.ExpiresAt)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "expired")
		for range 2 {
			got, err := s.LiveToken(ctx, authn.TokenPasswordReset, tok.Hash, t0)
			require.NoError(t, err)
			assert.Equal(t, tok, got, "peeking does not consume")
		}
		_, err = s.ConsumeToken(ctx, authn.TokenPasswordReset, tok.Hash, t0)
		require.NoError(t, err)
		_, err = s.LiveToken(ctx, authn.TokenPasswordReset, tok.Hash, t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "used")
	})
	t.Run("expiry", func(t *testing.T) {
		tok := mkToken(t, s, authn.TokenEmailVerification, u.ID, "", "verify-1", t0, 0)
		_, err := s.ConsumeToken(ctx, authn.TokenEmailVerification, tok.Hash, tok.ExpiresAt)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid)
		got, err := s.ConsumeToken(ctx, authn.TokenEmailVerification, tok.Hash, tok.ExpiresAt.Add(-time.Millisecond))
		require.NoError(t, err)
		assert.Equal(t, tok.ID, got.ID)
	})
	t.Run("a new token invalidates the old", func(t *testing.T) {
		old := mkToken(t, s, authn.TokenMagicLink, u.ID, "", "magic-old", t0, 0)
		otherKind := mkToken(t, s, authn.TokenPasswordReset, u.ID, "", "reset-kept", t0, 0)
		otherUser := mkToken(t, s, authn.TokenMagicLink, v.ID, "", "magic-v", t0, 0)
		fresh := mkToken(t, s, authn.TokenMagicLink, u.ID, "", "magic-new", t0.Add(time.Minute), 0)
		_, err := s.ConsumeToken(ctx, authn.TokenMagicLink, old.Hash, t0.Add(2*time.Minute))
		assert.ErrorIs(t, err, authn.ErrTokenInvalid)
		for _, tok := range []authn.OneTimeToken{fresh, otherKind, otherUser} {
			_, err := s.ConsumeToken(ctx, tok.Kind, tok.Hash, t0.Add(2*time.Minute))
			assert.NoError(t, err, tok.Kind)
		}
	})
	t.Run("concurrent consumers, one winner", func(t *testing.T) {
		tok := mkToken(t, s, authn.TokenMagicLink, v.ID, "", "magic-race", t0, 0)
		wins := race(t, concurrency, authn.ErrTokenInvalid, func(int) error {
			_, err := s.ConsumeToken(ctx, authn.TokenMagicLink, tok.Hash, t0)
			return err
		})
		assert.Equal(t, 1, wins)
	})
	t.Run("verify code", func(t *testing.T) {
		const flow = "flow-code-1"
		tok := mkToken(t, s, authn.TokenEmailCode, u.ID, flow, "123456", t0, 3)
		_, err := s.VerifyCode(ctx, authn.TokenEmailCode, "another-flow", hash("123456"), t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "bound to its flow")
		_, err = s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("000000"), t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "wrong code 1")
		got, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("123456"), t0.Add(time.Second))
		require.NoError(t, err)
		assert.Equal(t, tok.ID, got.ID)
		assert.Equal(t, 1, got.Attempts)
		assert.Equal(t, t0.Add(time.Second), got.UsedAt)
		_, err = s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("123456"), t0.Add(time.Second))
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "used")
	})
	t.Run("verify code attempt limit", func(t *testing.T) {
		const flow = "flow-code-2"
		mkToken(t, s, authn.TokenEmailCode, u.ID, flow, "654321", t0, 3)
		for i, want := range []error{authn.ErrTokenInvalid, authn.ErrTokenInvalid, authn.ErrTooManyAttempts} {
			_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash(fmt.Sprint(i)), t0)
			assert.ErrorIs(t, err, want, "wrong guess %d", i+1)
		}
		_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("654321"), t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "right code after the limit")
	})
	t.Run("verify code expiry and reissue", func(t *testing.T) {
		const flow = "flow-code-3"
		first := mkToken(t, s, authn.TokenEmailCode, u.ID, flow, "111111", t0, 5)
		_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("111111"), first.ExpiresAt)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "expired")
		mkToken(t, s, authn.TokenEmailCode, u.ID, flow, "222222", t0.Add(time.Minute), 5)
		_, err = s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("111111"), t0.Add(time.Minute))
		assert.ErrorIs(t, err, authn.ErrTokenInvalid, "superseded")
		_, err = s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("222222"), t0.Add(time.Minute))
		assert.NoError(t, err)
	})
	t.Run("verify code, concurrent right guesses, one winner", func(t *testing.T) {
		const flow = "flow-code-race"
		mkToken(t, s, authn.TokenEmailCode, v.ID, flow, "424242", t0, 5)
		wins := race(t, concurrency, authn.ErrTokenInvalid, func(int) error {
			_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("424242"), t0)
			return err
		})
		assert.Equal(t, 1, wins)
	})
	t.Run("verify code, concurrent wrong guesses, limit holds", func(t *testing.T) {
		const flow = "flow-code-guess"
		mkToken(t, s, authn.TokenEmailCode, v.ID, flow, "999999", t0, 5)
		var tooMany atomic.Int64
		wins := race(t, concurrency, authn.ErrTokenInvalid, func(i int) error {
			_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash(fmt.Sprint(i)), t0)
			if errors.Is(err, authn.ErrTooManyAttempts) {
				tooMany.Add(1)
				return authn.ErrTokenInvalid
			}
			return err
		})
		assert.Zero(t, wins)
		assert.Equal(t, int64(1), tooMany.Load(), "exactly the fifth wrong guess kills the code")
		_, err := s.VerifyCode(ctx, authn.TokenEmailCode, flow, hash("999999"), t0)
		assert.ErrorIs(t, err, authn.ErrTokenInvalid)
	})
	t.Run("count since", func(t *testing.T) {
		w := mkUser(t, s, "throttle@example.com")
		for i := range 4 {
			mkToken(t, s, authn.TokenPasswordReset, w.ID, "", fmt.Sprint("r", i), t0.Add(time.Duration(i)*time.Minute), 0)
		}
		mkToken(t, s, authn.TokenMagicLink, w.ID, "", "m", t0, 0)
		n, err := s.CountTokensSince(ctx, w.ID, authn.TokenPasswordReset, t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 3, n, "superseded tokens still count")
	})
}

func testFlows(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "flow@example.com")
	mkFlow := func(t *testing.T, userID string) authn.LoginFlow {
		f := authn.LoginFlow{ID: newID(t), UserID: userID, Identifier: "flow@example.com", EvaluationID: "ev-1",
			Decision: "step_up", Methods: []string{"password", "totp"}, State: "identified",
			CreatedAt: t0, UpdatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
		require.NoError(t, s.CreateFlow(ctx, f))
		return f
	}

	t.Run("create and read", func(t *testing.T) {
		f := mkFlow(t, u.ID)
		got, err := s.FlowByID(ctx, f.ID, t0)
		require.NoError(t, err)
		assert.Equal(t, f, got)
		assert.ErrorIs(t, s.CreateFlow(ctx, f), authn.ErrConflict)
		_, err = s.FlowByID(ctx, f.ID, f.ExpiresAt)
		assert.ErrorIs(t, err, authn.ErrNotFound, "expired")
		_, err = s.FlowByID(ctx, "missing", t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
	t.Run("unknown identifier", func(t *testing.T) {
		f := mkFlow(t, "")
		f.Methods = nil
		f.ID = newID(t)
		require.NoError(t, s.CreateFlow(ctx, f))
		got, err := s.FlowByID(ctx, f.ID, t0)
		require.NoError(t, err)
		assert.Empty(t, got.UserID)
		assert.Empty(t, got.Methods)
	})
	t.Run("advance", func(t *testing.T) {
		f := mkFlow(t, u.ID)
		now := t0.Add(time.Minute)
		got, err := s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "identified", To: "second_factor", PasswordVerified: true}, now)
		require.NoError(t, err)
		assert.Equal(t, "second_factor", got.State)
		assert.True(t, got.PasswordVerified)
		assert.Equal(t, now, got.UpdatedAt)

		assert.Equal(t, "ev-1", got.EvaluationID, "empty keeps")
		assert.Equal(t, "step_up", got.Decision)
		assert.Equal(t, []string{"password", "totp"}, got.Methods, "nil keeps")

		_, err = s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "identified", To: "done"}, now)
		assert.ErrorIs(t, err, authn.ErrConflict, "state moved on")
		got, err = s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "second_factor", To: "second_factor",
			EvaluationID: "ev-2", Decision: "block", Methods: []string{"totp"}}, now)
		require.NoError(t, err)
		assert.Equal(t, "ev-2", got.EvaluationID)
		assert.Equal(t, "block", got.Decision)
		assert.Equal(t, []string{"totp"}, got.Methods)
		got, err = s.FlowByID(ctx, f.ID, now)
		require.NoError(t, err)
		assert.Equal(t, "ev-2", got.EvaluationID, "persisted")
		assert.Equal(t, []string{"totp"}, got.Methods)
		got, err = s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "second_factor", To: "done"}, now)
		require.NoError(t, err)
		assert.True(t, got.PasswordVerified, "never cleared")
		_, err = s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "done", To: "x"}, f.ExpiresAt)
		assert.ErrorIs(t, err, authn.ErrNotFound, "expired")
		_, err = s.AdvanceFlow(ctx, "missing", authn.FlowTransition{From: "done", To: "x"}, now)
		assert.ErrorIs(t, err, authn.ErrNotFound)
	})
	t.Run("concurrent advances, one winner", func(t *testing.T) {
		f := mkFlow(t, u.ID)
		wins := race(t, concurrency, authn.ErrConflict, func(int) error {
			_, err := s.AdvanceFlow(ctx, f.ID, authn.FlowTransition{From: "identified", To: "done"}, t0)
			return err
		})
		assert.Equal(t, 1, wins)
	})
}

func testAttempts(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "att@example.com")
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	rec := func(f authn.Factor, ok bool, ip, dev string, m int) {
		t.Helper()
		require.NoError(t, s.RecordAttempt(ctx, authn.Attempt{UserID: u.ID, Factor: f, Success: ok, IP: ip, DeviceID: dev,
			UserAgent: "ua", At: at(m)}))
	}
	const (
		home, attacker = "198.51.100.7", "203.0.113.9"
		laptop, bot    = "dev-laptop", "dev-bot"
	)
	rec(authn.FactorPassword, false, attacker, bot, 1)
	rec(authn.FactorPassword, false, attacker, bot, 2)
	rec(authn.FactorPassword, false, home, laptop, 3)
	rec(authn.FactorPassword, true, home, laptop, 4) // resets the password count
	rec(authn.FactorPassword, false, attacker, bot, 5)
	rec(authn.FactorTOTP, false, home, laptop, 6)
	rec(authn.FactorTOTP, false, attacker, bot, 7)
	rec(authn.FactorPassword, false, attacker, "", 8)

	t.Run("counts", func(t *testing.T) {
		tests := []struct {
			name   string
			count  func() (int, error)
			expect int
		}{
			{"password since success", func() (int, error) { return s.CountFailures(ctx, u.ID, authn.FactorPassword, at(0)) }, 2},
			{"password, later since", func() (int, error) { return s.CountFailures(ctx, u.ID, authn.FactorPassword, at(6)) }, 1},
			{"totp not reset by password", func() (int, error) { return s.CountFailures(ctx, u.ID, authn.FactorTOTP, at(0)) }, 2},
			{"any factor", func() (int, error) { return s.CountFailures(ctx, u.ID, "", at(0)) }, 4},
			{"recovery", func() (int, error) { return s.CountFailures(ctx, u.ID, authn.FactorRecovery, at(0)) }, 0},
			{"attacker ip", func() (int, error) { return s.CountFailuresFrom(ctx, u.ID, attacker, "", at(0)) }, 5},
			{"attacker ip or device", func() (int, error) { return s.CountFailuresFrom(ctx, u.ID, attacker, bot, at(0)) }, 5},
			{"bot device", func() (int, error) { return s.CountFailuresFrom(ctx, u.ID, "", bot, at(0)) }, 4},
			{"home, reset by its success", func() (int, error) { return s.CountFailuresFrom(ctx, u.ID, home, laptop, at(0)) }, 1},
			{"no source", func() (int, error) { return s.CountFailuresFrom(ctx, u.ID, "", "", at(0)) }, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				n, err := tt.count()
				require.NoError(t, err)
				assert.Equal(t, tt.expect, n)
			})
		}
	})
	t.Run("history", func(t *testing.T) {
		got, err := s.RecentLogins(ctx, u.ID, 3)
		require.NoError(t, err)
		require.Len(t, got, 3)
		assert.Equal(t, at(8), got[0].At)
		assert.Equal(t, at(6), got[2].At)
		assert.Equal(t, authn.FactorTOTP, got[1].Factor)
		assert.Equal(t, attacker, got[1].IP)
		assert.NotZero(t, got[0].ID)
	})
	t.Run("no user", func(t *testing.T) {
		assert.Error(t, s.RecordAttempt(ctx, authn.Attempt{Factor: authn.FactorPassword, At: t0}))
	})
}

func testSweeper(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "sweep@example.com")
	now := t0.Add(time.Hour)

	_, liveHash := mkSession(t, s, u, now.Add(time.Minute), now.Add(time.Hour))
	mkSession(t, s, u, now.Add(-time.Minute), now.Add(time.Hour)) // idled out
	mkSession(t, s, u, now.Add(time.Minute), now)                 // absolute deadline reached
	revoked, _ := mkSession(t, s, u, now.Add(time.Minute), now.Add(time.Hour))
	require.NoError(t, s.RevokeSession(ctx, u.ID, revoked.ID, t0))

	mkToken(t, s, authn.TokenPasswordReset, u.ID, "", "expired", t0, 0) // expired at t0+15m
	liveTok := mkToken(t, s, authn.TokenMagicLink, u.ID, "", "live", now.Add(-time.Minute), 0)
	mkToken(t, s, authn.TokenEmailVerification, u.ID, "", "recent-dead", now.Add(-20*time.Minute), 0) // dead but recent

	require.NoError(t, s.CreateFlow(ctx, authn.LoginFlow{ID: "old-flow", Identifier: "x", State: "s", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))
	require.NoError(t, s.CreateFlow(ctx, authn.LoginFlow{ID: "live-flow", Identifier: "x", State: "s", CreatedAt: t0, ExpiresAt: now.Add(time.Minute)}))

	n, err := s.DeleteExpired(ctx, now, 30*time.Minute)
	require.NoError(t, err)
	assert.Equal(t, int64(3+1+1), n, "3 sessions, 1 old token, 1 flow")
	_, err = s.SessionByTokenHash(ctx, liveHash, now)
	assert.NoError(t, err)
	list, err := s.ListSessions(ctx, u.ID, now)
	require.NoError(t, err)
	assert.Len(t, list, 1)
	_, err = s.FlowByID(ctx, "live-flow", now)
	assert.NoError(t, err)
	c, err := s.CountTokensSince(ctx, u.ID, authn.TokenEmailVerification, t0)
	require.NoError(t, err)
	assert.Equal(t, 1, c, "recent dead token kept for throttling")
	_, err = s.ConsumeToken(ctx, liveTok.Kind, liveTok.Hash, now)
	assert.NoError(t, err)

	for m := range 5 {
		require.NoError(t, s.RecordAttempt(ctx, authn.Attempt{UserID: u.ID, Factor: authn.FactorPassword, At: t0.Add(time.Duration(m) * 24 * time.Hour)}))
	}
	n, err = s.DeleteAttemptsBefore(ctx, t0.Add(48*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(2), n)
	hist, err := s.RecentLogins(ctx, u.ID, 10)
	require.NoError(t, err)
	assert.Len(t, hist, 3)
}

func testMigrations(t *testing.T, newDB NewDatabase) {
	t.Run("reopen is idempotent and keeps data", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		ctx := t.Context()
		s, err := db.Open(ctx)
		require.NoError(t, err)
		u := mkUser(t, s, "persist@example.com")
		require.NoError(t, s.Close())
		before, err := db.QueryInt(ctx, `SELECT count(*) FROM schema_migrations`)
		require.NoError(t, err)
		require.Positive(t, before)

		s, err = db.Open(ctx)
		require.NoError(t, err)
		defer s.Close()
		got, err := s.UserByEmail(ctx, u.Email)
		require.NoError(t, err)
		assert.Equal(t, u.ID, got.ID)
		after, err := db.QueryInt(ctx, `SELECT count(*) FROM schema_migrations`)
		require.NoError(t, err)
		assert.Equal(t, before, after)
	})
	t.Run("schema too new", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		ctx := t.Context()
		s, err := db.Open(ctx)
		require.NoError(t, err)
		require.NoError(t, s.Close())
		require.NoError(t, db.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at)
			SELECT 9999, 'from_the_future', applied_at FROM schema_migrations WHERE version = 1`))
		_, err = db.Open(ctx)
		assert.ErrorIs(t, err, authn.ErrSchemaTooNew)
	})
	t.Run("concurrent opens of a fresh database", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		ctx := t.Context()
		stores := make([]Store, 4)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for i := range stores {
			wg.Go(func() { stores[i], errs[i] = db.Open(ctx) })
		}
		wg.Wait()
		for i := range stores {
			require.NoError(t, errs[i], "open %d", i)
			defer stores[i].Close()
		}
		n, err := db.QueryInt(ctx, `SELECT count(*) FROM schema_migrations`)
		require.NoError(t, err)
		d, err := db.QueryInt(ctx, `SELECT count(DISTINCT version) FROM schema_migrations`)
		require.NoError(t, err)
		assert.Equal(t, d, n, "each migration recorded once")
		mkUser(t, stores[3], "after-race@example.com")
	})
}

// testConcurrentSignIns is the store work of many simultaneous sign-ins on
// distinct accounts: with SQLite this is where a naive setup fails with
// SQLITE_BUSY. Every one must succeed.
func testConcurrentSignIns(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	const step = 59_000_000
	users := make([]authn.User, concurrency)
	factors := make([]string, concurrency)
	for i := range users {
		users[i] = mkUser(t, s, fmt.Sprintf("signin-%d@example.com", i))
		f := authn.TOTPFactor{ID: newID(t), UserID: users[i].ID, SealedSecret: []byte("s"), CreatedAt: t0}
		require.NoError(t, s.BeginTOTP(ctx, f))
		require.NoError(t, s.ConfirmTOTP(ctx, users[i].ID, f.ID, step, t0))
		factors[i] = f.ID
	}
	wins := race(t, concurrency, nil, func(i int) error {
		u := users[i]
		if _, err := s.UserByEmail(ctx, u.Email); err != nil {
			return err
		}
		x := authn.Session{ID: uuid.NewString(), TokenHash: hash(uuid.NewString()), UserID: u.ID, CreatedAt: t0, LastSeenAt: t0,
			IdleExpiresAt: t0.Add(30 * time.Minute), AbsoluteExpiresAt: t0.Add(12 * time.Hour), AAL: authn.AAL2}
		if err := s.CreateSession(ctx, x); err != nil {
			return err
		}
		if err := s.RecordAttempt(ctx, authn.Attempt{UserID: u.ID, Factor: authn.FactorTOTP, Success: true, IP: "192.0.2.1", At: t0}); err != nil {
			return err
		}
		if err := s.TouchSession(ctx, x.ID, t0.Add(time.Second), t0.Add(31*time.Minute)); err != nil {
			return err
		}
		if err := s.UseTOTPStep(ctx, factors[i], step+1); err != nil {
			return err
		}
		got, err := s.SessionByTokenHash(ctx, x.TokenHash, t0.Add(2*time.Second))
		if err != nil {
			return err
		}
		if !bytes.Equal(got.TokenHash, x.TokenHash) {
			return errors.New("wrong session")
		}
		return nil
	})
	assert.Equal(t, concurrency, wins, "every sign-in must succeed")
}
