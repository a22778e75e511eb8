package authn_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/secevent"
)

func profileFixture(t *testing.T) *fixture {
	return newFixture(t, fixtureOpts{cfg: func(c *authn.Config) {
		c.Account.Attributes = []authn.AttributeSpec{{Name: "nickname", Type: authn.AttrString, UserEditable: true}}
	}})
}

// TestUpdateProfileAudited: a change emits profile_updated naming the
// fields changed and the new version, never their values; a patch that
// changes nothing emits nothing and writes nothing.
func TestUpdateProfileAudited(t *testing.T) {
	t.Parallel()
	f := profileFixture(t)
	const email = "audited@example.com"
	f.register(t, email)
	sess := f.login(t, email, home).Session
	self := f.svc.Services.SelfService
	require.NotNil(t, self)
	patch := authn.ProfilePatch{Fields: map[string]string{authn.FieldDisplayName: "Secret Name"},
		Attributes: map[string]json.RawMessage{"nickname": json.RawMessage(`"hidden"`)}}
	v, err := self.UpdateProfile(t.Context(), authn.UpdateProfileRequest{SessionToken: sess.Token, IfMatch: 0, Patch: patch, Client: home})
	require.NoError(t, err)
	assert.Equal(t, int64(1), v.Profile.Version)
	require.Equal(t, 1, f.events.count(secevent.ProfileUpdated, v.UserID))
	ev := f.events.all[len(f.events.all)-1]
	assert.Equal(t, map[string]string{"fields": "display_name,attributes.nickname", "version": "1"}, ev.Details)

	v, err = self.UpdateProfile(t.Context(), authn.UpdateProfileRequest{SessionToken: sess.Token, IfMatch: 1, Patch: patch, Client: home})
	require.NoError(t, err)
	assert.Equal(t, int64(1), v.Profile.Version, "nothing changed")
	assert.Equal(t, 1, f.events.count(secevent.ProfileUpdated, v.UserID))

	_, err = self.UpdateProfile(t.Context(), authn.UpdateProfileRequest{SessionToken: sess.Token, IfMatch: 0, Patch: patch, Client: home})
	requireCode(t, err, authn.CodePreconditionFailed)
	_, err = self.UpdateProfile(t.Context(), authn.UpdateProfileRequest{SessionToken: "nope", IfMatch: 1, Patch: patch, Client: home})
	requireCode(t, err, authn.CodeSessionInvalid)
}

func TestAccountConfigValidate(t *testing.T) {
	t.Parallel()
	one, two := 1.0, 2.0
	tests := []struct {
		name  string
		attrs []authn.AttributeSpec
		want  string // "" for valid
	}{
		{"valid", []authn.AttributeSpec{{Name: "tier", Type: authn.AttrString, Values: []string{"a"}},
			{Name: "n", Type: authn.AttrInteger, Min: &one, Max: &two}, {Name: "b", Type: authn.AttrBoolean}}, ""},
		{"bad name", []authn.AttributeSpec{{Name: "Tier", Type: authn.AttrString}}, `name "Tier"`},
		{"twice", []authn.AttributeSpec{{Name: "a", Type: authn.AttrString}, {Name: "a", Type: authn.AttrString}}, "declared twice"},
		{"bad type", []authn.AttributeSpec{{Name: "a", Type: "date"}}, `type "date"`},
		{"min above max", []authn.AttributeSpec{{Name: "a", Type: authn.AttrNumber, Min: &two, Max: &one}}, "above max"},
		{"range on a string", []authn.AttributeSpec{{Name: "a", Type: authn.AttrString, Min: &one}}, "min and max apply"},
		{"length on a number", []authn.AttributeSpec{{Name: "a", Type: authn.AttrNumber, MaxLength: 3}}, "max_length and values apply"},
		{"too long", []authn.AttributeSpec{{Name: "a", Type: authn.AttrString, MaxLength: authn.MaxAttributeLength + 1}}, "max_length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := authn.AccountConfig{Attributes: tt.attrs}
			c.SetDefaults()
			err := c.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
