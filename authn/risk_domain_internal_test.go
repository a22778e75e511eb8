package authn

import (
	"fmt"
	"testing"

	"github.com/riskauth/riskauth/engine"
	"github.com/stretchr/testify/assert"
)

// The engine sees the account's email domain, never the address, and the
// client's attribute map is never written.
func TestWithEmailDomain(t *testing.T) {
	t.Parallel()
	full := map[string]string{}
	for i := range engine.MaxAttributes {
		full[fmt.Sprintf("a%d", i)] = "v"
	}
	for _, tc := range []struct {
		name  string
		attrs map[string]string
		email string
		want  map[string]string
	}{
		{"domain added", nil, "Alice@Example.COM", map[string]string{engine.AttrEmailDomain: "example.com"}},
		{"client's kept", map[string]string{"app": "shop"}, "a@corp.example", map[string]string{"app": "shop", engine.AttrEmailDomain: "corp.example"}},
		{"the account's domain wins", map[string]string{engine.AttrEmailDomain: "evil.example"}, "a@corp.example", map[string]string{engine.AttrEmailDomain: "corp.example"}},
		{"IDN", nil, "a@münchen.de", map[string]string{engine.AttrEmailDomain: "xn--mnchen-3ya.de"}},
		{"no email", map[string]string{"app": "shop"}, "", map[string]string{"app": "shop"}},
		{"not an address", nil, "example.com", nil},
		{"at the attribute limit", full, "a@corp.example", full},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fmt.Sprint(tc.attrs)
			got := withEmailDomain(tc.attrs, tc.email)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, before, fmt.Sprint(tc.attrs), "the client's map is not written")
			for _, v := range got {
				assert.NotContains(t, v, "@", "never the address")
			}
		})
	}
}
