package httpapi

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWalkHops(t *testing.T) {
	t.Parallel()
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8:ffff::/48"),
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	peer := netip.MustParseAddr("10.0.0.1")
	tests := []struct {
		name string
		xff  []string // header values, in order
		fwd  []string // Forwarded header values; used when xff is nil
		want string
	}{
		{"no header: the peer", nil, nil, "10.0.0.1"},
		{"one client", []string{"203.0.113.7"}, nil, "203.0.113.7"},
		{"chain of trusted proxies", []string{"203.0.113.7, 10.1.1.1, 10.2.2.2"}, nil, "203.0.113.7"},
		{"forged left part is skipped", []string{"1.1.1.1, 203.0.113.7, 10.1.1.1"}, nil, "203.0.113.7"},
		{"several header lines", []string{"1.1.1.1", "203.0.113.7", "10.1.1.1"}, nil, "203.0.113.7"},
		{"ports and brackets", []string{"[2001:db8::7]:443, 10.1.1.1:8080"}, nil, "2001:db8::7"},
		{"ipv4 with port", []string{"203.0.113.7:5555"}, nil, "203.0.113.7"},
		{"ipv4-mapped", []string{"::ffff:203.0.113.7"}, nil, "203.0.113.7"},
		{"ipv6 trusted hop", []string{"203.0.113.7, 2001:db8:ffff::1"}, nil, "203.0.113.7"},
		{"all trusted: the leftmost", []string{"10.9.9.9, 10.1.1.1"}, nil, "10.9.9.9"},
		{"garbage at the right stops at the peer", []string{"203.0.113.7, garbage"}, nil, "10.0.0.1"},
		{"garbage behind a trusted hop", []string{"203.0.113.7, nonsense, 10.1.1.1"}, nil, "10.1.1.1"},
		{"empty element", []string{"203.0.113.7,,10.1.1.1"}, nil, "10.1.1.1"},
		{"zone refused", []string{"fe80::1%eth0"}, nil, "10.0.0.1"},
		{"forwarded", nil, []string{`for=192.0.2.60;proto=http;by=203.0.113.43`}, "192.0.2.60"},
		{"forwarded chain", nil, []string{`for=1.1.1.1, for="[2001:db8::17]:4711", for=10.1.1.1`}, "2001:db8::17"},
		{"forwarded quoted comma", nil, []string{`for="203.0.113.9";x="a,b", for=10.1.1.1`}, "203.0.113.9"},
		{"forwarded case", nil, []string{`For=192.0.2.61`}, "192.0.2.61"},
		{"forwarded unknown", nil, []string{`for=unknown, for=10.1.1.1`}, "10.1.1.1"},
		{"forwarded element without for", nil, []string{`proto=https`}, "10.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hops []string
			if tc.xff != nil {
				for _, v := range tc.xff {
					hops = appendXFFHops(hops, v)
				}
			} else {
				for _, v := range tc.fwd {
					hops = appendForwardedHops(hops, v)
				}
			}
			assert.Equal(t, tc.want, walkHops(peer, hops, isTrusted).String())
		})
	}
	t.Run("untrusted peer is the client whatever the header", func(t *testing.T) {
		got := walkHops(netip.MustParseAddr("198.51.100.1"), []string{"203.0.113.7"}, isTrusted)
		assert.Equal(t, "198.51.100.1", got.String())
	})
}

func FuzzForwardedHeaders(f *testing.F) {
	f.Add(`for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`)
	f.Add(`1.2.3.4, 10.0.0.1`)
	f.Add(`for="\"`)
	peer := netip.MustParseAddr("10.0.0.1")
	trusted := func(a netip.Addr) bool { return netip.MustParsePrefix("10.0.0.0/8").Contains(a) }
	f.Fuzz(func(t *testing.T, v string) {
		for _, hops := range [][]string{appendXFFHops(nil, v), appendForwardedHops(nil, v)} {
			got := walkHops(peer, hops, trusted)
			if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
				t.Fatalf("walkHops(%q) = %v", v, got)
			}
		}
	})
}
