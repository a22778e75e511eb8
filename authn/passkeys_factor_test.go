package authn_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/passkey/passkeytest"
)

// TestPasskeyIsASecondFactor: wherever "the account has a second factor"
// changes what happens, a passkey counts like an authenticator app. A
// password sign-in from the account's own device, which the engine let
// through without a step-up before the passkey, asks for it
// (passkey first, the emailed code as the way out); a required enrolment
// is satisfied by it; and the support view lists it (the data export's
// list is checked against its schema in internal/httpapi).
func TestPasskeyIsASecondFactor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := passkeyFixture(t)

	// withPasskey signs in from home with the password alone first, then
	// registers the passkey.
	a := passkeytest.New(pkOrigin)
	withPasskey(t, f, "una@example.com", a)
	uid := f.userID(t, "una@example.com")
	res := f.login(t, "una@example.com", home)
	require.Equal(t, authn.LoginSecondFactor, res.Status, "a password is never the only factor of an account with a passkey")
	assert.Equal(t, []authn.Method{authn.MethodPasskey, authn.MethodEmailCode}, res.Methods)

	// A required enrolment (an administrator's reset of the factors) is
	// met by the passkey: the action is cleared at the next sign-in.
	require.NoError(t, f.store.AddRequiredAction(ctx, uid, authn.ActionEnrolMFA, f.clock.Now()))
	res, err := signInWith(t, f, a, home)
	require.NoError(t, err)
	assert.Equal(t, authn.LoginAuthenticated, res.Status, "no enrolment is asked of an account with a passkey")
	acts, err := f.store.RequiredActions(ctx, uid)
	require.NoError(t, err)
	assert.NotContains(t, acts, authn.ActionEnrolMFA)

	v, err := f.svc.Services.Admin.ViewUser(ctx, uid)
	require.NoError(t, err)
	require.Len(t, v.Passkeys, 1)
	assert.Equal(t, "Laptop", v.Passkeys[0].Name)
	assert.False(t, v.Passkeys[0].LastUsedAt.IsZero(), "used to sign in")

}
