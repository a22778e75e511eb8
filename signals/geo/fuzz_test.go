package geo

import (
	"net/netip"
	"os"
	"testing"
)

// FuzzLookup feeds arbitrary address text and bytes (as an HTTP layer would
// pass on from headers) to Lookup: it must never panic or fail on the valid
// fixtures, and its invariants must hold.
func FuzzLookup(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8:1::1", "::ffff:192.0.2.81", "64:ff9b::c000:251", "10.0.0.1", "fe80::1%eth0",
		"100.64.0.1", "0.0.0.0", "::", "255.255.255.255", "3fff::1", "1.2.3.4", "::ffff:0:0", "", "not an ip"} {
		f.Add(s)
	}
	g, err := Open(geoip2Config(), nil, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer g.Close()
	flat, err := Open(flatConfig(), nil, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	defer flat.Close()
	f.Fuzz(func(t *testing.T, s string) {
		var addrs []netip.Addr
		if ip, err := netip.ParseAddr(s); err == nil {
			addrs = append(addrs, ip)
		}
		if ip, ok := netip.AddrFromSlice([]byte(s)); ok {
			addrs = append(addrs, ip)
		}
		for _, ip := range addrs {
			for _, db := range []*Geo{g, flat} {
				rec, err := db.Lookup(ip)
				if err != nil {
					t.Fatalf("Lookup(%s): %v", ip, err)
				}
				if rec.IP.Is4In6() || rec.IP.Zone() != "" {
					t.Fatalf("Lookup(%s): address not normalised: %s", ip, rec.IP)
				}
				if rec.Private() && (rec.Country != "" || rec.Located || rec.ASN != 0) {
					t.Fatalf("Lookup(%s): private address with data: %+v", ip, rec)
				}
				if rec.Located && (rec.Latitude < -90 || rec.Latitude > 90 || rec.Longitude < -180 || rec.Longitude > 180) {
					t.Fatalf("Lookup(%s): bad point %+v", ip, rec)
				}
			}
		}
	})
}

// FuzzOpenBytes opens arbitrary bytes as a database (a corrupt or hostile
// file dropped in place of a real one): it must fail cleanly or yield a
// database whose lookups fail cleanly, never panic. Inputs are kilobytes, so
// the fuzzer's minimisation of a new input is slow: run with
// -fuzzminimizetime=5s or the progress line seems to stall.
func FuzzOpenBytes(f *testing.F) {
	for _, name := range []string{"city.mmdb", "asn.mmdb", "anonymous-ip.mmdb", "flat-city.mmdb"} {
		b, err := os.ReadFile(fixture(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[len(b)/2:])
	}
	f.Add([]byte("\xab\xcd\xefMaxMind.com"))
	ips := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("8.8.8.8")}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, role := range []Role{RoleCity, RoleASN, RoleAnonymousIP} {
			db, err := openBytes(b, "fuzz", role, 16)
			if err != nil {
				continue
			}
			var rec Record
			var sc scratch
			for _, ip := range ips {
				_, _ = db.lookup(ip, &rec, &assumed{cityKm: 1, countryKm: 1}, &sc)
			}
			_ = db.close()
		}
	})
}
