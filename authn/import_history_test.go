package authn_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/userimport"
)

// TestImportProfileAndHistory: an imported line's profile and attributes
// (also those the owner may not edit) are stored with the account, and its
// past sign-ins warm the engine's risk profile; a line with an undeclared
// attribute or a bad past sign-in is refused whole with its reason, and a
// dry run learns nothing.
func TestImportProfileAndHistory(t *testing.T) {
	f := newFixture(t, fixtureOpts{cfg: func(c *authn.Config) {
		c.Account = authn.AccountConfig{Attributes: []authn.AttributeSpec{
			{Name: "tier", Type: authn.AttrString},
			{Name: "points", Type: authn.AttrInteger, UserEditable: true},
		}}
	}})
	ctx := context.Background()
	admin := f.svc.Admin
	lines := []authn.ImportLine{
		{N: 1, Data: []byte(`{"external_id":"legacy|1","email":"mia@example.com","email_verified":true,
			"profile":{"display_name":"Mia","locale":"de-CH"},"attributes":{"tier":"gold","points":12},
			"sign_ins":[{"at":"2026-11-01T08:00:00Z","ip":"192.0.2.10","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36","device_id":"legacy-cookie-1"},
			            {"at":"2026-11-20T19:30:00Z","ip":"192.0.2.10","device_id":"legacy-cookie-1"}]}`)},
		{N: 2, Data: []byte(`{"external_id":"legacy|2","email":"noa@example.com","attributes":{"shoe_size":44}}`)},
		{N: 3, Data: []byte(`{"external_id":"legacy|3","email":"ola@example.com","sign_ins":[{"at":"2026-11-01T08:00:00Z","ip":"not-an-ip"}]}`)},
		{N: 4, Data: []byte(`{"external_id":"legacy|4","email":"pia@example.com","profile":{"nickname":"p"}}`)},
	}

	dry, err := admin.ImportUsers(ctx, lines, userimport.Options{}, true, helpdesk)
	require.NoError(t, err)
	assert.Equal(t, authn.ImportCreated, dry[0].Status)
	assert.Zero(t, dry[0].SignInsLearned, "a dry run learns nothing")

	res, err := admin.ImportUsers(ctx, lines, userimport.Options{}, false, helpdesk)
	require.NoError(t, err)
	require.Len(t, res, 4)
	assert.Equal(t, authn.ImportCreated, res[0].Status, res[0].Reason)
	assert.Equal(t, 2, res[0].SignInsLearned)
	assert.Empty(t, res[0].Warning)
	for i, want := range []string{"attributes.shoe_size: unknown attribute", "sign_ins[0]: ip is not an IP address", "profile.nickname: unknown field"} {
		r := res[i+1]
		assert.Empty(t, r.Status, "line %d refused", r.Line)
		assert.Contains(t, r.Reason, want)
	}

	v, err := admin.ViewUser(ctx, res[0].UserID)
	require.NoError(t, err)
	require.NotNil(t, v.Profile)
	assert.Equal(t, "Mia", v.Profile.DisplayName)
	assert.Equal(t, "de-CH", v.Profile.Locale)
	assert.Equal(t, map[string]any{"tier": "gold", "points": int64(12)}, v.Profile.Attributes)
	assert.Equal(t, int64(1), v.Profile.Version)
	require.NotNil(t, v.Risk)
	assert.Equal(t, 2, v.Risk.Logins, "the engine learned both past sign-ins")
	assert.Equal(t, 1, v.Risk.Devices)
	assert.Zero(t, v.Risk.TrustedDevices)
	assert.Equal(t, "2026-11-01T08:00:00Z", v.Risk.FirstLogin.UTC().Format("2006-01-02T15:04:05Z"))

	again, err := admin.ImportUsers(ctx, lines[:1], userimport.Options{}, false, helpdesk)
	require.NoError(t, err)
	assert.Equal(t, authn.ImportExisting, again[0].Status)
	assert.Zero(t, again[0].SignInsLearned, "a re-run does not learn twice")
	v, err = admin.ViewUser(ctx, res[0].UserID)
	require.NoError(t, err)
	assert.Equal(t, 2, v.Risk.Logins)
}
