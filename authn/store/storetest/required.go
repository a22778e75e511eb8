package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

// testRequiredActions: an action is recorded once however often it is
// added, listed per user, cleared (also when none is pending), and goes
// with its user.
func testRequiredActions(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	u := mkUser(t, s, "required@example.com")
	other := mkUser(t, s, "other-required@example.com")

	acts, err := s.RequiredActions(ctx, u.ID)
	require.NoError(t, err)
	assert.Empty(t, acts)
	require.NoError(t, s.AddRequiredAction(ctx, u.ID, authn.ActionEnrolMFA, t0))
	require.NoError(t, s.AddRequiredAction(ctx, u.ID, authn.ActionEnrolMFA, t0), "again: no change")
	require.NoError(t, s.AddRequiredAction(ctx, u.ID, "accept_terms", t0))
	acts, err = s.RequiredActions(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"accept_terms", authn.ActionEnrolMFA}, acts)
	acts, err = s.RequiredActions(ctx, other.ID)
	require.NoError(t, err)
	assert.Empty(t, acts, "per user")

	require.NoError(t, s.RemoveRequiredAction(ctx, u.ID, authn.ActionEnrolMFA))
	require.NoError(t, s.RemoveRequiredAction(ctx, u.ID, authn.ActionEnrolMFA), "none pending")
	acts, err = s.RequiredActions(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"accept_terms"}, acts)

	assert.Error(t, s.AddRequiredAction(ctx, "no-such-user", authn.ActionEnrolMFA, t0), "only for an account")
	require.NoError(t, s.DeleteUser(ctx, u.ID))
	acts, err = s.RequiredActions(ctx, u.ID)
	require.NoError(t, err)
	assert.Empty(t, acts, "deleted with the user")
}
