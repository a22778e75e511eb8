package authn_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

// TestForeignHashSignIn: a user migrated with a bcrypt hash (Openwall's
// sample of "password") signs in with their password, which is verified
// natively and rehashed to argon2id once: one argon2id hash on the first
// sign-in, and argon2id only from then on. A wrong password changes
// nothing.
func TestForeignHashSignIn(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	const email = "mig@example.com"
	const bcryptHash = "$2a$05$bvIG6Nmid91Mu9RcmmWZfO5HJIMCT8riNW0hEp8f6/FuA2/mHZFpe"
	now := f.clock.Now()
	u := authn.User{ID: uuid.NewString(), Email: email, PasswordHash: bcryptHash, EmailVerifiedAt: now, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, f.store.CreateUser(ctx, u))

	_, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: email, Password: "not the password", Client: home})
	requireCode(t, err, authn.CodeLoginFailed)
	got, err := f.store.UserByID(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, bcryptHash, got.PasswordHash, "a wrong password changes nothing")

	before := f.hashes(t)
	res, err := f.svc.Login(ctx, authn.LoginRequest{Identifier: email, Password: "password", Client: home})
	require.NoError(t, err)
	assert.NotEqual(t, authn.LoginStatus(""), res.Status)
	got, err = f.store.UserByID(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(got.PasswordHash, "$argon2id$"), "rehashed: %s", got.PasswordHash[:10])
	assert.Equal(t, u.PasswordChangedAt, got.PasswordChangedAt, "a rehash is not a password change")
	assert.Equal(t, uint64(1), f.hashes(t)-before, "one argon2id hash, after the bcrypt verification")

	before = f.hashes(t)
	_, err = f.svc.Login(ctx, authn.LoginRequest{Identifier: email, Password: "password", Client: home})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), f.hashes(t)-before, "from then on one argon2id verification")
}
