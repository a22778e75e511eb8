package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testDevices: a sign-in inserts a device or refreshes it (keeping its
// name and first sighting), the list is per user and newest first, and
// rename and delete touch only the user's own.
func testDevices(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "devices@example.com")
	other := mkUser(t, s, "other-devices@example.com")
	touch := func(user, dev, ua string, at time.Time) {
		t.Helper()
		require.NoError(t, s.TouchDevice(ctx, authn.UserDevice{UserID: user, DeviceID: dev, UserAgent: ua, IP: "192.0.2.1",
			City: "Zurich", Country: "CH", FirstSeen: at, LastSeen: at}))
	}
	touch(u.ID, "d1", "ua-1", t0)
	touch(u.ID, "d2", "ua-2", t0.Add(time.Minute))
	touch(other.ID, "d1", "ua-x", t0)
	require.NoError(t, s.RenameDevice(ctx, u.ID, "d1", "Work laptop"))
	touch(u.ID, "d1", "ua-1b", t0.Add(2*time.Minute))
	touch(u.ID, "d2", "ua-2", t0.Add(-time.Hour)) // a late write never moves last_seen back

	ds, err := s.Devices(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	assert.Equal(t, "d1", ds[0].DeviceID)
	assert.Equal(t, "Work laptop", ds[0].Name)
	assert.Equal(t, "ua-1b", ds[0].UserAgent)
	assert.True(t, ds[0].FirstSeen.Equal(t0))
	assert.True(t, ds[0].LastSeen.Equal(t0.Add(2*time.Minute)))
	assert.Equal(t, "Zurich", ds[0].City)
	assert.True(t, ds[1].LastSeen.Equal(t0.Add(time.Minute)))

	assert.ErrorIs(t, s.RenameDevice(ctx, u.ID, "nope", "x"), authn.ErrNotFound)
	assert.ErrorIs(t, s.DeleteDevice(ctx, u.ID, "nope"), authn.ErrNotFound)
	require.NoError(t, s.DeleteDevice(ctx, u.ID, "d1"))
	assert.ErrorIs(t, s.DeleteDevice(ctx, u.ID, "d1"), authn.ErrNotFound)
	ds, err = s.Devices(ctx, other.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1, "another user's device of the same id is untouched")
	assert.Empty(t, ds[0].Name)
	assert.ErrorIs(t, s.TouchDevice(ctx, authn.UserDevice{UserID: newID(t), DeviceID: "d", FirstSeen: t0, LastSeen: t0}), authn.ErrNotFound)
}

// testActivity: entries are per user, newest first, paged by cursor,
// capped per user (the oldest go), disowned once, and retention deletes
// past a time in bounded batches.
func testActivity(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "activity@example.com")
	other := mkUser(t, s, "other-activity@example.com")
	add := func(user string, i int, keep int) authn.Activity {
		t.Helper()
		a := authn.Activity{ID: newID(t), UserID: user, At: t0.Add(time.Duration(i) * time.Minute), Kind: "login_succeeded",
			IP: "192.0.2.7", City: "Bern", Country: "CH", DeviceID: "d1", UserAgent: "ua", Factor: "password",
			Decision: "passwordless", Outcome: "success", SessionID: fmt.Sprintf("s%d", i), EvaluationID: newID(t)}
		require.NoError(t, s.AddActivity(ctx, a, keep))
		return a
	}
	var all []authn.Activity
	for i := range 5 {
		all = append(all, add(u.ID, i, 4))
	}
	add(other.ID, 0, 4)

	t.Run("capped and newest first", func(t *testing.T) {
		got, err := s.ListActivity(ctx, u.ID, time.Time{}, "", 10)
		require.NoError(t, err)
		require.Len(t, got, 4, "the oldest went")
		assert.Equal(t, all[4].ID, got[0].ID)
		assert.Equal(t, all[1].ID, got[3].ID)
		assert.Equal(t, all[4], got[0], "every field round-trips")
	})
	t.Run("paged", func(t *testing.T) {
		page, err := s.ListActivity(ctx, u.ID, time.Time{}, "", 2)
		require.NoError(t, err)
		require.Len(t, page, 2)
		next, err := s.ListActivity(ctx, u.ID, page[1].At, page[1].ID, 2)
		require.NoError(t, err)
		require.Len(t, next, 2)
		assert.Equal(t, all[2].ID, next[0].ID)
		assert.Equal(t, all[1].ID, next[1].ID)
	})
	t.Run("same instant", func(t *testing.T) {
		v := mkUser(t, s, "same-instant@example.com")
		for range 3 {
			require.NoError(t, s.AddActivity(ctx, authn.Activity{ID: newID(t), UserID: v.ID, At: t0, Kind: "password_changed"}, 10))
		}
		first, err := s.ListActivity(ctx, v.ID, time.Time{}, "", 1)
		require.NoError(t, err)
		rest, err := s.ListActivity(ctx, v.ID, first[0].At, first[0].ID, 10)
		require.NoError(t, err)
		assert.Len(t, rest, 2, "no entry is skipped or repeated across pages")
	})
	t.Run("by id and disown", func(t *testing.T) {
		_, err := s.ActivityByID(ctx, other.ID, all[4].ID)
		assert.ErrorIs(t, err, authn.ErrNotFound, "another user's entry")
		assert.ErrorIs(t, s.DisownActivity(ctx, other.ID, all[4].ID, t0), authn.ErrNotFound)
		require.NoError(t, s.DisownActivity(ctx, u.ID, all[4].ID, t0.Add(time.Hour)))
		assert.ErrorIs(t, s.DisownActivity(ctx, u.ID, all[4].ID, t0.Add(2*time.Hour)), authn.ErrConflict)
		a, err := s.ActivityByID(ctx, u.ID, all[4].ID)
		require.NoError(t, err)
		assert.True(t, a.DisownedAt.Equal(t0.Add(time.Hour)))
	})
	t.Run("retention", func(t *testing.T) {
		n, ran, err := s.DeleteActivityBefore(ctx, t0.Add(3*time.Minute), 1)
		require.NoError(t, err)
		assert.True(t, ran)
		assert.Equal(t, int64(1), n, "bounded by the limit")
		n, _, err = s.DeleteActivityBefore(ctx, t0.Add(3*time.Minute), 100)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, n, int64(2))
		got, err := s.ListActivity(ctx, u.ID, time.Time{}, "", 10)
		require.NoError(t, err)
		for _, a := range got {
			assert.False(t, a.At.Before(t0.Add(3*time.Minute)))
		}
		assert.Len(t, got, 2)
	})
}

// testRecordSignIn: a sign-in's device and activity entry are written
// together, with the cap, and a user that does not exist writes neither.
func testRecordSignIn(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "record@example.com")
	for i := range 3 {
		at := t0.Add(time.Duration(i) * time.Minute)
		require.NoError(t, s.RecordSignIn(ctx, authn.UserDevice{UserID: u.ID, DeviceID: "d1", UserAgent: fmt.Sprintf("ua-%d", i),
			FirstSeen: at, LastSeen: at}, authn.Activity{ID: newID(t), UserID: u.ID, At: at, Kind: "login_succeeded", DeviceID: "d1"}, 2))
	}
	ds, err := s.Devices(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, "ua-2", ds[0].UserAgent)
	assert.True(t, ds[0].FirstSeen.Equal(t0))
	got, err := s.ListActivity(ctx, u.ID, time.Time{}, "", 10)
	require.NoError(t, err)
	assert.Len(t, got, 2, "capped")

	ghost := newID(t)
	err = s.RecordSignIn(ctx, authn.UserDevice{UserID: ghost, DeviceID: "d", FirstSeen: t0, LastSeen: t0},
		authn.Activity{ID: newID(t), UserID: ghost, At: t0, Kind: "login_succeeded"}, 2)
	assert.ErrorIs(t, err, authn.ErrNotFound)
}
