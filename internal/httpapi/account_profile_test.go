package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/internal/httpapi"
)

// testAccountConfig declares one attribute of each type, editable or not.
func testAccountConfig() authn.AccountConfig {
	zero, thousand := 0.0, 1000.0
	return authn.AccountConfig{Attributes: []authn.AttributeSpec{
		{Name: "tier", Type: authn.AttrString, Values: []string{"bronze", "gold"}, InTokens: true},
		{Name: "nickname", Type: authn.AttrString, MaxLength: 8, UserEditable: true, PersonalData: true},
		{Name: "points", Type: authn.AttrInteger, Min: &zero, Max: &thousand, UserEditable: true, InTokens: true},
		{Name: "ratio", Type: authn.AttrNumber, UserEditable: true},
		{Name: "newsletter", Type: authn.AttrBoolean, UserEditable: true},
	}}
}

func ifMatch(v string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("If-Match", v)
		r.Header.Set("Content-Type", "application/merge-patch+json")
	}
}

// TestAccountProfile: GET /v1/account answers the account with its ETag;
// PATCH applies a merge patch made against the current version (428
// without If-Match, 412 against a stale one), refuses an invalid patch as
// a whole with a 422 naming every bad field, and answers the new version.
func TestAccountProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, httpapi.Config{})
	b := e.browser()
	const email = "profile@example.com"
	b.register(email)

	r := b.get("/v1/account")
	require.Equal(t, http.StatusUnauthorized, r.status, "a session is required: %s", r.body)
	b.signIn(email)

	r = b.get("/v1/account")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, `"0"`, r.header.Get("ETag"))
	assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	m := r.json(t)
	assert.Equal(t, email, m["email"])
	assert.Equal(t, true, m["email_verified"])
	assert.Equal(t, map[string]any{}, m["attributes"])
	assert.Len(t, m["attribute_definitions"], 5)

	patch := map[string]any{"display_name": "Zoë N.", "given_name": "Zoë", "locale": "de-ch", "time_zone": "Europe/Zurich",
		"attributes": map[string]any{"nickname": "zo", "points": 12, "ratio": 0.25, "newsletter": true}}
	r = b.call(http.MethodPatch, "/v1/account", patch, withHeader("Content-Type", "application/json"))
	require.Equal(t, http.StatusPreconditionRequired, r.status, "no If-Match: %s", r.body)
	assert.Equal(t, "precondition_required", r.errorCode(t))

	r = b.call(http.MethodPatch, "/v1/account", patch, ifMatch(`"0"`))
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, `"1"`, r.header.Get("ETag"))
	m = r.json(t)
	assert.Equal(t, "de-CH", m["locale"], "canonicalised")
	assert.Equal(t, "Europe/Zurich", m["time_zone"])
	assert.Equal(t, map[string]any{"nickname": "zo", "points": 12.0, "ratio": 0.25, "newsletter": true}, m["attributes"])

	t.Run("stale version", func(t *testing.T) {
		for _, tag := range []string{`"0"`, `W/"1"`, `"1", "2"`, `"x"`} {
			r := b.call(http.MethodPatch, "/v1/account", map[string]any{"display_name": "other tab"}, ifMatch(tag))
			require.Equal(t, http.StatusPreconditionFailed, r.status, "If-Match %s: %s", tag, r.body)
			assert.Equal(t, "precondition_failed", r.errorCode(t))
		}
	})
	t.Run("invalid as a whole", func(t *testing.T) {
		bad := map[string]any{"display_name": "fine", "time_zone": "Mars/Olympus", "locale": "not a tag",
			"given_name": strings.Repeat("x", 129),
			"attributes": map[string]any{"tier": "gold", "nickname": "far too long", "points": 1.5, "ratio": "x",
				"newsletter": "yes", "shoe_size": 44}}
		r := b.call(http.MethodPatch, "/v1/account", bad, ifMatch(`"1"`))
		require.Equal(t, http.StatusUnprocessableEntity, r.status, "body: %s", r.body)
		assert.ElementsMatch(t, []string{"given_name", "locale", "time_zone", "attributes.newsletter", "attributes.nickname",
			"attributes.points", "attributes.ratio", "attributes.shoe_size", "attributes.tier"}, r.fields(t))
		r = b.call(http.MethodPatch, "/v1/account", map[string]any{"email": "x@example.com", "nick": "z"}, ifMatch(`"1"`))
		require.Equal(t, http.StatusUnprocessableEntity, r.status, "body: %s", r.body)
		assert.ElementsMatch(t, []string{"email", "nick"}, r.fields(t))
		r = b.get("/v1/account")
		assert.Equal(t, `"1"`, r.header.Get("ETag"), "nothing changed")
		assert.Equal(t, "Zoë N.", r.json(t)["display_name"])
	})
	t.Run("clear and remove", func(t *testing.T) {
		r := b.call(http.MethodPatch, "/v1/account", `{"display_name":null,"attributes":{"nickname":null}}`, ifMatch(`"1"`))
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.Equal(t, `"2"`, r.header.Get("ETag"))
		m := r.json(t)
		assert.Equal(t, "", m["display_name"])
		assert.NotContains(t, m["attributes"], "nickname")
		r = b.call(http.MethodPatch, "/v1/account", `{"given_name":"Zoë"}`, ifMatch("*"))
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		assert.Equal(t, `"2"`, r.header.Get("ETag"), "a patch that changes nothing writes nothing")
	})
	t.Run("content type", func(t *testing.T) {
		r := b.call(http.MethodPatch, "/v1/account", `{}`, ifMatch(`"2"`), withHeader("Content-Type", "text/plain"))
		assert.Equal(t, http.StatusUnsupportedMediaType, r.status, "body: %s", r.body)
	})
	t.Run("cross-site", func(t *testing.T) {
		r := b.call(http.MethodPatch, "/v1/account", `{}`, ifMatch(`"2"`), withHeader("Sec-Fetch-Site", "cross-site"))
		assert.Equal(t, http.StatusForbidden, r.status, "body: %s", r.body)
		assert.Equal(t, "forbidden_origin", r.errorCode(t))
	})
}

// TestAccessTokenAttributes: the attributes declared in_tokens, and only
// those, are claims of the access token.
func TestAccessTokenAttributes(t *testing.T) {
	t.Parallel()
	signer := testSigner(t)
	e := newEnv(t, httpapi.Config{AccessTokens: &signer})
	b := e.browser()
	const email = "claims@example.com"
	b.register(email)
	b.signIn(email)
	r := b.get("/v1/account")
	userID := r.json(t)["user_id"].(string)
	require.NoError(t, e.auth.store.PutProfile(t.Context(), authn.Profile{UserID: userID, UpdatedAt: time.Now(),
		Attributes: map[string]any{"tier": "gold", "points": int64(7), "nickname": "zo"}}, 0))

	r = b.post("/v1/token", nil)
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	tok := r.json(t)["access_token"].(string)
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		Attributes map[string]any `json:"attributes"`
	}
	require.NoError(t, json.Unmarshal(raw, &claims))
	assert.Equal(t, map[string]any{"tier": "gold", "points": 7.0}, claims.Attributes)
}
