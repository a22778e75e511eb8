package familiarity

import (
	"net/netip"
	"strings"
	"testing"
)

// normaliseIPReference is normaliseIP without its IPv4 shortcut.
func normaliseIPReference(s string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ""
	}
	return p.String()
}

func FuzzNormaliseIP(f *testing.F) {
	for _, s := range []string{"203.0.113.7", " 203.0.113.7\\n", "::ffff:203.0.113.7", "2001:db8::1", "fe80::1%eth0",
		"010.1.2.3", "1.2.3", "1.2.3.4%eth0", "", "x", "0.0.0.0", "255.255.255.255"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := normaliseIP(s), normaliseIPReference(s); got != want {
			t.Fatalf("normaliseIP(%q) = %q, want %q", s, got, want)
		}
	})
}
