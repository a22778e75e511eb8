package engine

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestEmailDomain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"alice@Example.COM", "example.com"},
		{"Example.com.", "example.com"},
		{"  corp.example.org ", "corp.example.org"},
		{"a@b@münchen.de", "xn--mnchen-3ya.de"},
		{"ÉXAMPLE.com", "xn--xample-9ua.com"},
		{"xn--mnchen-3ya.de", "xn--mnchen-3ya.de"},
		{"alice@localhost", ""},
		{"alice@", ""},
		{"", ""},
		{"alice@exa mple.com", ""},
		{"alice@" + strings.Repeat("a", 250) + ".com", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, EmailDomain(tc.in))
		})
	}
}

func TestDomainASNKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		attrs map[string]string
		asn   int
		want  string
	}{
		{"corporate domain", map[string]string{AttrEmailDomain: "Example.com"}, 64500, "example.com/AS64500"},
		{"free-mail never counts", map[string]string{AttrEmailDomain: "gmail.com"}, 15169, ""},
		{"free-mail in upper case", map[string]string{AttrEmailDomain: "GMail.com."}, 15169, ""},
		{"unknown network", map[string]string{AttrEmailDomain: "example.com"}, 0, ""},
		{"no attribute", map[string]string{"app": "shop"}, 64500, ""},
		{"no attributes", nil, 64500, ""},
		{"invalid domain", map[string]string{AttrEmailDomain: "not a domain"}, 64500, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, domainASNKey(tc.attrs, tc.asn))
		})
	}
}

func TestFreeMailList(t *testing.T) {
	t.Parallel()
	assert.GreaterOrEqual(t, len(freeMail), 20)
	for d := range freeMail {
		assert.Equal(t, d, EmailDomain(d), "list entries are normalised: %q", d)
	}
}

// FuzzEmailDomain: the attribute comes from the client; whatever it is,
// the key is a short lower-case ASCII host name or nothing.
func FuzzEmailDomain(f *testing.F) {
	for _, s := range []string{"alice@example.com", "münchen.de", "a@b@c.d", "..", "xn--", "@", strings.Repeat("a.", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := EmailDomain(s)
		if d == "" {
			return
		}
		if len(d) > 253 || !utf8.ValidString(d) || d != strings.ToLower(d) || strings.ContainsAny(d, "@ /") {
			t.Fatalf("EmailDomain(%q) = %q", s, d)
		}
		for _, r := range d {
			if r > 127 {
				t.Fatalf("EmailDomain(%q) = %q: not ASCII", s, d)
			}
		}
		if again := EmailDomain(d); again != d {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, d, again)
		}
	})
}
