package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

// testDirectory covers the user administration's store methods (issue
// 20): search with every filter and cursor paging, the hard delete and its
// cascade, and forgetting failed attempts.
func testDirectory(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	// Twelve accounts, one a minute; every third disabled, every second
	// verified. Two share a creation time, to page through a tie.
	var users []authn.User
	for i := range 12 {
		created := t0.Add(time.Duration(i) * time.Minute)
		if i == 5 {
			created = users[4].CreatedAt
		}
		u := authn.User{ID: newID(t), Email: fmt.Sprintf("user%02d@example.com", i), CreatedAt: created, UpdatedAt: created}
		if i%2 == 0 {
			u.EmailVerifiedAt = created
		}
		if i%3 == 0 {
			u.Disabled = true
		}
		require.NoError(t, s.CreateUser(ctx, u))
		users = append(users, u)
	}
	// Addresses with LIKE's wildcards in them, which a prefix must match
	// literally.
	odd := authn.User{ID: newID(t), Email: "odd_100%@example.com", CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)}
	require.NoError(t, s.CreateUser(ctx, odd))
	odd2 := authn.User{ID: newID(t), Email: "oddx100x@example.com", CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)}
	require.NoError(t, s.CreateUser(ctx, odd2))

	emails := func(us []authn.User) []string {
		out := make([]string, len(us))
		for i, u := range us {
			out[i] = u.Email
		}
		return out
	}
	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			name string
			q    authn.UserQuery
			want []string
		}{
			{"id", authn.UserQuery{ID: users[3].ID}, []string{"user03@example.com"}},
			{"prefix, any case", authn.UserQuery{EmailPrefix: "USER1"}, []string{"user10@example.com", "user11@example.com"}},
			{"whole address", authn.UserQuery{EmailPrefix: "user07@example.com"}, []string{"user07@example.com"}},
			{"wildcards literal", authn.UserQuery{EmailPrefix: "odd_100%"}, []string{"odd_100%@example.com"}},
			{"created range", authn.UserQuery{CreatedFrom: t0.Add(9 * time.Minute), CreatedBefore: t0.Add(11 * time.Minute)},
				[]string{"user09@example.com", "user10@example.com"}},
			{"disabled", authn.UserQuery{Status: authn.StatusDisabled, EmailPrefix: "user"},
				[]string{"user00@example.com", "user03@example.com", "user06@example.com", "user09@example.com"}},
			{"active", authn.UserQuery{Status: authn.StatusActive, EmailPrefix: "user"},
				[]string{"user02@example.com", "user04@example.com", "user08@example.com", "user10@example.com"}},
			{"unverified", authn.UserQuery{Status: authn.StatusUnverified, EmailPrefix: "user"},
				[]string{"user01@example.com", "user05@example.com", "user07@example.com", "user11@example.com"}},
			{"combined", authn.UserQuery{Status: authn.StatusUnverified, EmailPrefix: "user0", CreatedFrom: t0.Add(6 * time.Minute)},
				[]string{"user07@example.com"}},
			{"none", authn.UserQuery{EmailPrefix: "nobody"}, []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.q.Limit = 100
				got, err := s.ListUsers(ctx, tt.q)
				require.NoError(t, err)
				assert.ElementsMatch(t, tt.want, emails(got))
			})
		}
		_, err := s.ListUsers(ctx, authn.UserQuery{Status: "bogus", Limit: 1})
		assert.Error(t, err)
	})
	t.Run("pages", func(t *testing.T) {
		// Pages of 5 in (CreatedAt, ID) order see every account once,
		// also across the tie at 4 and 5.
		var seen []authn.User
		q := authn.UserQuery{EmailPrefix: "user", Limit: 5}
		for range 10 {
			page, err := s.ListUsers(ctx, q)
			require.NoError(t, err)
			seen = append(seen, page...)
			if len(page) < q.Limit {
				break
			}
			last := page[len(page)-1]
			q.AfterCreated, q.AfterID = last.CreatedAt, last.ID
		}
		require.Len(t, seen, 12)
		assert.ElementsMatch(t, emails(users), emails(seen))
		for i := 1; i < len(seen); i++ {
			a, b := seen[i-1], seen[i]
			assert.True(t, a.CreatedAt.Before(b.CreatedAt) || a.CreatedAt.Equal(b.CreatedAt) && a.ID < b.ID, "order at %d", i)
		}
		assert.Equal(t, users[0], seen[0], "a listed account is the whole account")
	})
	t.Run("delete cascades", func(t *testing.T) {
		u := mkUser(t, s, "gone@example.com")
		_, tok := mkSession(t, s, u, t0.Add(time.Hour), t0.Add(2*time.Hour))
		require.NoError(t, s.BeginTOTP(ctx, authn.TOTPFactor{ID: newID(t), UserID: u.ID, SealedSecret: []byte("sealed"), CreatedAt: t0}))
		require.NoError(t, s.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{hash("c1")}, t0))
		require.NoError(t, s.RecordAttempt(ctx, authn.Attempt{UserID: u.ID, Factor: authn.FactorPassword, At: t0}))
		require.NoError(t, s.DeleteUser(ctx, u.ID))
		_, err := s.UserByID(ctx, u.ID)
		assert.ErrorIs(t, err, authn.ErrNotFound)
		_, err = s.SessionByTokenHash(ctx, tok, t0)
		assert.ErrorIs(t, err, authn.ErrNotFound)
		_, err = s.PendingTOTP(ctx, u.ID)
		assert.ErrorIs(t, err, authn.ErrNotFound)
		n, err := s.CountRecoveryCodes(ctx, u.ID)
		require.NoError(t, err)
		assert.Zero(t, n)
		recent, err := s.RecentLogins(ctx, u.ID, 10)
		require.NoError(t, err)
		assert.Empty(t, recent)
		assert.ErrorIs(t, s.DeleteUser(ctx, u.ID), authn.ErrNotFound)
		// The address is free again.
		mkUser(t, s, "gone@example.com")
	})
	t.Run("delete failed attempts", func(t *testing.T) {
		u := mkUser(t, s, "unlock@example.com")
		at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
		for i, ok := range []bool{false, true, false, false, false} {
			require.NoError(t, s.RecordAttempt(ctx, authn.Attempt{UserID: u.ID, Factor: authn.FactorTOTP, Success: ok, IP: "203.0.113.9", At: at(i)}))
		}
		n, err := s.DeleteFailedAttempts(ctx, u.ID, at(1))
		require.NoError(t, err)
		assert.Equal(t, int64(3), n, "failures at or after since")
		recent, err := s.RecentLogins(ctx, u.ID, 10)
		require.NoError(t, err)
		require.Len(t, recent, 2, "the success and the older failure stay")
		c, err := s.CountFailuresFrom(ctx, u.ID, "203.0.113.9", "", at(0))
		require.NoError(t, err)
		assert.Zero(t, c)
		n, err = s.DeleteFailedAttempts(ctx, users[1].ID, t0)
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}
