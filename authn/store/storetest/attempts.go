package storetest

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
