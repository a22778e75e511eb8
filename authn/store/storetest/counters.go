package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testCounters(t *testing.T, newDB NewDatabase) {
	t.Run("count, add, clear", func(t *testing.T) {
		t.Parallel()
		s := open(t, newDB)
		ctx := t.Context()
		a, b := hash("key a"), hash("key b")
		for m := range 4 {
			at := t0.Add(time.Duration(m) * time.Minute)
			require.NoError(t, s.AddEvent(ctx, a, at, at.Add(time.Hour)))
		}
		require.NoError(t, s.AddEvent(ctx, b, t0, t0.Add(time.Hour)))
		tests := []struct {
			name  string
			key   []byte
			since time.Time
			want  int
		}{
			{"all of a", a, t0, 4},
			{"since is inclusive", a, t0.Add(2 * time.Minute), 2},
			{"after the last", a, t0.Add(time.Hour), 0},
			{"other key", b, t0, 1},
			{"unknown key", hash("nobody"), t0, 0},
		}
		for _, tc := range tests {
			n, err := s.CountEvents(ctx, tc.key, tc.since)
			require.NoError(t, err)
			assert.Equal(t, tc.want, n, tc.name)
		}
		require.NoError(t, s.ClearEvents(ctx, a))
		n, err := s.CountEvents(ctx, a, t0)
		require.NoError(t, err)
		assert.Zero(t, n, "cleared")
		n, err = s.CountEvents(ctx, b, t0)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "other keys untouched")
	})
	t.Run("reserve stops at the limit within the window", func(t *testing.T) {
		t.Parallel()
		s := open(t, newDB)
		ctx := t.Context()
		k := hash("mail key")
		window := 15 * time.Minute
		reserve := func(at time.Time) bool {
			t.Helper()
			ok, err := s.ReserveEvent(ctx, k, 3, at.Add(-window), at, at.Add(window))
			require.NoError(t, err)
			return ok
		}
		var got []bool
		for m := range 5 {
			got = append(got, reserve(t0.Add(time.Duration(m)*time.Minute)))
		}
		assert.Equal(t, []bool{true, true, true, false, false}, got)
		assert.True(t, reserve(t0.Add(window+time.Second)), "the first event left the window")
		assert.False(t, reserve(t0.Add(window+30*time.Second)))
	})
	t.Run("concurrent reservations never pass the limit", func(t *testing.T) {
		t.Parallel()
		db := newDB(t)
		ctx := t.Context()
		// Two handles on one database: two instances.
		s1, err := db.Open(ctx)
		require.NoError(t, err)
		defer s1.Close()
		s2, err := db.Open(ctx)
		require.NoError(t, err)
		defer s2.Close()
		k := hash("raced key")
		errFull := errors.New("no room")
		wins := race(t, concurrency, errFull, func(i int) error {
			s := s1
			if i%2 == 1 {
				s = s2
			}
			ok, err := s.ReserveEvent(ctx, k, 5, t0.Add(-time.Hour), t0, t0.Add(time.Hour))
			if err != nil {
				return err
			}
			if !ok {
				return errFull
			}
			return nil
		})
		assert.Equal(t, 5, wins)
	})
	t.Run("expired events are swept", func(t *testing.T) {
		t.Parallel()
		s := open(t, newDB)
		ctx := t.Context()
		k := hash("swept key")
		require.NoError(t, s.AddEvent(ctx, k, t0, t0.Add(time.Minute)))
		require.NoError(t, s.AddEvent(ctx, k, t0, t0.Add(time.Hour)))
		n, err := s.DeleteExpired(ctx, t0.Add(30*time.Minute), 0)
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
		c, err := s.CountEvents(ctx, k, t0)
		require.NoError(t, err)
		assert.Equal(t, 1, c)
	})
}
