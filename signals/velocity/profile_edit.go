package velocity

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cespare/xxhash/v2"
	"github.com/redis/go-redis/v9"

	"github.com/riskauth/riskauth/engine"
)

// Profile edits outside an evaluation (engine.ProfileEditor): the user's
// view of their devices, forgetting one, and erasure. They take the same
// per-user lock (memory) or optimistic transaction (Redis) as the
// outcome's read-modify-write, so an edit and a sign-in never lose each
// other's change.

// opProfile is a profile read, edit or delete outside an evaluation.
const opProfile = "profile"

var (
	_ engine.ProfileEditor = (*Memory)(nil)
	_ engine.ProfileEditor = (*Redis)(nil)
)

// ProfileDeleter is implemented by profile stores that can forget a user
// (erasure). Both of this package's stores do.
type ProfileDeleter interface {
	Delete(ctx context.Context, user string) error
}

// ReadProfile implements engine.ProfileEditor; a corrupt stored profile
// reads as none, as it does for an evaluation.
func (m *Memory) ReadProfile(ctx context.Context, user string) (engine.Profile, error) {
	p, err := m.profiles.Get(ctx, user)
	if errors.Is(err, errCorruptProfile) {
		return engine.Profile{}, nil
	}
	return p, err
}

// EditProfile implements engine.ProfileEditor under the user's lock.
func (m *Memory) EditProfile(ctx context.Context, user string, edit func(*engine.Profile) bool) error {
	mu := &m.userLocks[xxhash.Sum64String(user)%uint64(len(m.userLocks))]
	mu.Lock()
	defer mu.Unlock()
	p, err := m.profiles.Get(ctx, user)
	if err != nil && !errors.Is(err, errCorruptProfile) {
		return fmt.Errorf("velocity memory: edit profile: %w", err)
	}
	if !edit(&p) {
		return nil
	}
	if err := m.profiles.Put(ctx, user, p); err != nil {
		return fmt.Errorf("velocity memory: edit profile: %w", err)
	}
	return nil
}

// DeleteProfile implements engine.ProfileEditor.
func (m *Memory) DeleteProfile(ctx context.Context, user string) error {
	d, ok := m.profiles.(ProfileDeleter)
	if !ok {
		return fmt.Errorf("velocity memory: the profile store cannot delete: %w", engine.ErrProfileUnsupported)
	}
	mu := &m.userLocks[xxhash.Sum64String(user)%uint64(len(m.userLocks))]
	mu.Lock()
	defer mu.Unlock()
	return d.Delete(ctx, user)
}

// Delete implements ProfileDeleter.
func (m *MemProfiles) Delete(_ context.Context, user string) error {
	m.cache.remove(user)
	return nil
}

// Delete implements ProfileDeleter: the row and the cached copy. The
// known-users filter keeps the user (a Bloom filter cannot forget); it
// holds no identifier, only bits, and costs the erased user one cache
// miss.
func (s *SQLiteProfiles) Delete(ctx context.Context, user string) error {
	mu := s.lock(user)
	mu.Lock()
	defer mu.Unlock()
	_, err := s.write.ExecContext(ctx, `DELETE FROM velocity_profiles WHERE user_key = ?`, user)
	s.cache.remove(user)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("velocity sqlite: delete profile: %w", err)
	}
	// The deleted page images still sit in the WAL until a checkpoint;
	// TRUNCATE copies the zeroed pages (secure_delete) home and empties
	// it. Readers can delay it; the next one catches up.
	if _, err := s.write.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("velocity sqlite: checkpoint after delete: %w", err)
	}
	return nil
}

// ReadProfile implements engine.ProfileEditor.
func (r *Redis) ReadProfile(ctx context.Context, user string) (engine.Profile, error) {
	var p engine.Profile
	data, err := r.c.Get(ctx, r.profileKey(user)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
	case err != nil:
		return engine.Profile{}, r.fail(opProfile, err)
	default:
		if json.Unmarshal(data, &p) != nil {
			return engine.Profile{}, nil
		}
	}
	return p, nil
}

// EditProfile implements engine.ProfileEditor in an optimistic
// transaction, retried like an outcome's.
func (r *Redis) EditProfile(ctx context.Context, user string, edit func(*engine.Profile) bool) error {
	return r.watchProfile(ctx, r.profileKey(user), "edit profile", edit, func(err error) error { return r.fail(opProfile, err) })
}

// DeleteProfile implements engine.ProfileEditor.
func (r *Redis) DeleteProfile(ctx context.Context, user string) error {
	if err := r.c.Del(ctx, r.profileKey(user)).Err(); err != nil {
		return r.fail(opProfile, err)
	}
	return nil
}
