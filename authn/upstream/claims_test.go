package upstream

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPresetClaims: each preset's reading of a verified address and a
// name, including Microsoft's email without email_verified and Apple's
// string "true".
func TestPresetClaims(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		preset Preset
		raw    string
		want   Identity
	}{
		{"google verified", PresetGoogle, `{"email":"a@x.test","email_verified":true,"name":"A B"}`, Identity{Email: "a@x.test", EmailVerified: true, Name: "A B"}},
		{"google unverified", PresetGoogle, `{"email":"a@x.test","email_verified":false}`, Identity{Email: "a@x.test"}},
		{"generic string true", PresetGeneric, `{"email":"a@x.test","email_verified":"true","preferred_username":"ab"}`, Identity{Email: "a@x.test", EmailVerified: true, Name: "ab"}},
		{"generic given and family", PresetGeneric, `{"email":"a@x.test","given_name":"A","family_name":"B"}`, Identity{Email: "a@x.test", Name: "A B"}},
		{"generic odd verified", PresetGeneric, `{"email":"a@x.test","email_verified":1}`, Identity{Email: "a@x.test"}},
		{"microsoft email is never verified by itself", PresetMicrosoft, `{"email":"a@x.test","email_verified":true,"name":"A"}`, Identity{Email: "a@x.test", Name: "A"}},
		{"microsoft domain owner verified", PresetMicrosoft, `{"email":"a@x.test","xms_edov":true}`, Identity{Email: "a@x.test", EmailVerified: true}},
		{"apple string true", PresetApple, `{"email":"a@privaterelay.appleid.com","email_verified":"true","name":"ignored"}`, Identity{Email: "a@privaterelay.appleid.com", EmailVerified: true}},
		{"apple string false", PresetApple, `{"email":"a@x.test","email_verified":"false"}`, Identity{Email: "a@x.test"}},
		{"gitlab nickname", PresetGitLab, `{"email":"a@x.test","email_verified":true,"nickname":"ab"}`, Identity{Email: "a@x.test", EmailVerified: true, Name: "ab"}},
		{"no email is never verified", PresetGoogle, `{"email_verified":true}`, Identity{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c claims
			require.NoError(t, json.Unmarshal([]byte(tt.raw), &c))
			assert.Equal(t, tt.want, c.identity(tt.preset))
		})
	}
}

// FuzzClaims: whatever a provider sends, decoding never panics, and an
// identity without an address is never verified.
func FuzzClaims(f *testing.F) {
	f.Add(`{"email":"a@x.test","email_verified":"true"}`)
	f.Add(`{"email_verified":[1,2],"xms_edov":{"a":1}}`)
	f.Add(`{"email":"","email_verified":true}`)
	f.Fuzz(func(t *testing.T, raw string) {
		var c claims
		if json.Unmarshal([]byte(raw), &c) != nil {
			return
		}
		for _, p := range []Preset{PresetGeneric, PresetGoogle, PresetGitLab, PresetMicrosoft, PresetApple} {
			id := c.identity(p)
			if id.Email == "" && id.EmailVerified {
				t.Fatalf("%s: verified without an address", p)
			}
		}
	})
}

// TestNormalize: defaults per preset, and every error at once.
func TestNormalize(t *testing.T) {
	t.Parallel()
	c := ProviderConfig{Name: "apple", Preset: PresetApple, Issuer: "https://appleid.apple.com", ClientID: "id", ClientSecret: "s"}
	require.NoError(t, c.Normalize())
	assert.Equal(t, []string{"email", "name"}, c.Scopes)
	assert.Equal(t, "Apple", c.DisplayName)
	assert.Equal(t, DefaultDiscoveryTimeout, c.Timeout)

	g := ProviderConfig{Name: "corp", Issuer: "http://127.0.0.1:9/", ClientID: "id", ClientSecret: "s", Timeout: time.Second}
	require.NoError(t, g.Normalize(), "http on loopback")
	assert.Equal(t, PresetGeneric, g.Preset)
	assert.Equal(t, "corp", g.DisplayName)

	bad := ProviderConfig{Name: "Bad Name", Preset: "facebook", Issuer: "http://idp.example.com"}
	err := bad.Normalize()
	require.Error(t, err)
	for _, want := range []string{"name", "preset", "https", "client_id", "client_secret"} {
		assert.Contains(t, err.Error(), want)
	}
}
