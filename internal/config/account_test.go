package config_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

func TestAccountKeys(t *testing.T) {
	t.Parallel()
	c, err := loadYAML(t, `
authn:
  mail_paths: { security: /app/account/security, sign_in: /app/login, data_export: /app/export }
  account:
    activity_retention: 720h
    attributes:
      - { name: tier, type: string, values: [bronze, gold], in_tokens: true }
      - { name: points, type: integer, min: 0, max: 1000, user_editable: true }
`)
	require.NoError(t, err)
	p := c.Authn.MailPaths.Paths()
	assert.Equal(t, "/app/account/security", p.Security)
	assert.Equal(t, "/app/login", p.SignIn)
	assert.Equal(t, "/app/export", p.DataExport)
	assert.Empty(t, p.VerifyEmail, "the renderer's default")
	a := c.Authn.Flows().Account
	assert.Equal(t, 720*time.Hour, a.ActivityRetention)
	assert.Equal(t, authn.DefaultActivityMaxPerUser, a.ActivityMaxPerUser)
	require.Len(t, a.Attributes, 2)
	assert.Equal(t, authn.DefaultAttributeMaxLength, a.Attributes[0].MaxLength)
	assert.True(t, a.Attributes[0].InTokens)
	require.NotNil(t, a.Attributes[1].Max)
	assert.Equal(t, 1000.0, *a.Attributes[1].Max)
}

func TestAccountInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"mail path", "authn: { mail_paths: { security: 'https://x.example/a', sign_in: '/a?b' } }",
			[]string{`authn.mail_paths.security "https://x.example/a"`, `authn.mail_paths.sign_in "/a?b"`}},
		{"attribute", "authn: { account: { attributes: [ { name: Tier, type: date } ] } }",
			[]string{`authn.account: attributes[0]: name "Tier"`, `type "date"`}},
		{"unknown attribute key", "authn: { account: { attributes: [ { name: a, type: string, editable: true } ] } }",
			[]string{"field editable not found"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadYAML(t, tc.yaml)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.ErrorContains(t, err, w)
			}
		})
	}
}

// TestDocumentedAccountExample keeps the self-service example of
// docs/configuration.md loadable.
func TestDocumentedAccountExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/configuration.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "### Self-service account (`authn.account`, `authn.mail_paths`)")
	require.True(t, ok)
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	require.True(t, ok)
	example, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	c, err := loadYAML(t, example)
	require.NoError(t, err)
	assert.NotEmpty(t, c.Authn.Flows().Account.Attributes)
}
