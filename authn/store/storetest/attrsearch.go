package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn"
)

// testAttributeSearch: administrators find accounts by the value of a
// custom attribute, of every type, exactly (no prefix, no type
// coercion across strings and numbers), combined with the other filters;
// a name that could escape the query is refused.
func testAttributeSearch(t *testing.T, newDB NewDatabase) {
	s := open(t, newDB)
	ctx := t.Context()
	put := func(email string, attrs map[string]any) string {
		u := mkUser(t, s, email)
		require.NoError(t, s.PutProfile(ctx, authn.Profile{UserID: u.ID, Attributes: attrs, UpdatedAt: t0}, 0))
		return email
	}
	gold := put("gold@example.com", map[string]any{"tier": "gold", "points": int64(42), "ratio": 0.5, "newsletter": true})
	silver := put("silver@example.com", map[string]any{"tier": "silver", "points": int64(7), "ratio": 2.0, "newsletter": false})
	put("goldish@example.com", map[string]any{"tier": "golden", "points": "42"})
	mkUser(t, s, "noprofile@example.com")

	tests := []struct {
		name string
		q    authn.UserQuery
		want []string
	}{
		{"string", authn.UserQuery{Attribute: "tier", AttributeValue: "gold"}, []string{gold}},
		{"integer", authn.UserQuery{Attribute: "points", AttributeValue: int64(42)}, []string{gold}},
		{"number", authn.UserQuery{Attribute: "ratio", AttributeValue: 2.0}, []string{silver}},
		{"true", authn.UserQuery{Attribute: "newsletter", AttributeValue: true}, []string{gold}},
		{"false", authn.UserQuery{Attribute: "newsletter", AttributeValue: false}, []string{silver}},
		{"no match", authn.UserQuery{Attribute: "tier", AttributeValue: "bronze"}, []string{}},
		{"unset attribute", authn.UserQuery{Attribute: "missing", AttributeValue: "x"}, []string{}},
		{"with a prefix", authn.UserQuery{Attribute: "tier", AttributeValue: "silver", EmailPrefix: "gold"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.Limit = 100
			got, err := s.ListUsers(ctx, tt.q)
			require.NoError(t, err)
			emails := []string{}
			for _, u := range got {
				emails = append(emails, u.Email)
			}
			assert.ElementsMatch(t, tt.want, emails)
		})
	}
	t.Run("bad names and values", func(t *testing.T) {
		for _, q := range []authn.UserQuery{
			{Attribute: "tier') OR 1=1 --", AttributeValue: "x"},
			{Attribute: "Tier", AttributeValue: "x"},
			{Attribute: "tier", AttributeValue: []string{"x"}},
			{Attribute: "tier"},
		} {
			_, err := s.ListUsers(ctx, authn.UserQuery{Attribute: q.Attribute, AttributeValue: q.AttributeValue, Limit: 10})
			assert.Error(t, err, "%+v", q)
		}
	})
}
