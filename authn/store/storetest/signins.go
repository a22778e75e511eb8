package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
