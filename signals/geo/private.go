package geo

import "net/netip"

// Range names a special-purpose address range: an address in one has no
// geographic location, so the signal reports it as private and looks nothing
// up. The zero value means an ordinary (public) address.
type Range string

// Special-purpose ranges (IANA IPv4/IPv6 Special-Purpose Address Registries).
const (
	RangePublic        Range = ""
	RangePrivate       Range = "private"       // RFC 1918 10/8, 172.16/12, 192.168/16; NAT64 local-use 64:ff9b:1::/48
	RangeUniqueLocal   Range = "unique_local"  // fc00::/7
	RangeLoopback      Range = "loopback"      // 127/8, ::1
	RangeLinkLocal     Range = "link_local"    // 169.254/16, fe80::/10
	RangeCGNAT         Range = "cgnat"         // 100.64/10 (RFC 6598 shared address space)
	RangeDocumentation Range = "documentation" // 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
	RangeBenchmarking  Range = "benchmarking"  // 198.18/15, 2001:2::/48
	RangeMulticast     Range = "multicast"     // 224/4, ff00::/8
	RangeUnspecified   Range = "unspecified"   // 0/8, ::
	RangeReserved      Range = "reserved"      // 192.0.0/24, 240/4 (and broadcast), 100::/64, ORCHID, site-local, IPv4-compatible
)

type special struct {
	p netip.Prefix
	r Range
}

// Most specific first: the first match wins.
var specials4 = [...]special{
	{netip.MustParsePrefix("10.0.0.0/8"), RangePrivate},
	{netip.MustParsePrefix("172.16.0.0/12"), RangePrivate},
	{netip.MustParsePrefix("192.168.0.0/16"), RangePrivate},
	{netip.MustParsePrefix("100.64.0.0/10"), RangeCGNAT},
	{netip.MustParsePrefix("127.0.0.0/8"), RangeLoopback},
	{netip.MustParsePrefix("169.254.0.0/16"), RangeLinkLocal},
	{netip.MustParsePrefix("192.0.2.0/24"), RangeDocumentation},
	{netip.MustParsePrefix("198.51.100.0/24"), RangeDocumentation},
	{netip.MustParsePrefix("203.0.113.0/24"), RangeDocumentation},
	{netip.MustParsePrefix("198.18.0.0/15"), RangeBenchmarking},
	{netip.MustParsePrefix("0.0.0.0/8"), RangeUnspecified},
	{netip.MustParsePrefix("192.0.0.0/24"), RangeReserved},
	{netip.MustParsePrefix("224.0.0.0/4"), RangeMulticast},
	{netip.MustParsePrefix("240.0.0.0/4"), RangeReserved},
}

var specials6 = [...]special{
	{netip.MustParsePrefix("::1/128"), RangeLoopback},
	{netip.MustParsePrefix("::/128"), RangeUnspecified},
	{netip.MustParsePrefix("::/96"), RangeReserved}, // deprecated IPv4-compatible addresses
	{netip.MustParsePrefix("fc00::/7"), RangeUniqueLocal},
	{netip.MustParsePrefix("fe80::/10"), RangeLinkLocal},
	{netip.MustParsePrefix("fec0::/10"), RangeReserved}, // deprecated site-local
	{netip.MustParsePrefix("ff00::/8"), RangeMulticast},
	{netip.MustParsePrefix("2001:db8::/32"), RangeDocumentation},
	{netip.MustParsePrefix("3fff::/20"), RangeDocumentation},
	{netip.MustParsePrefix("2001:2::/48"), RangeBenchmarking},
	{netip.MustParsePrefix("2001:10::/28"), RangeReserved}, // ORCHID
	{netip.MustParsePrefix("2001:20::/28"), RangeReserved}, // ORCHIDv2
	{netip.MustParsePrefix("100::/64"), RangeReserved},     // discard-only
	{netip.MustParsePrefix("64:ff9b:1::/48"), RangePrivate},
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Normalize returns the address a lookup should use: the zone is dropped,
// an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is unmapped, and an address
// in the well-known NAT64 prefix 64:ff9b::/96 (RFC 6052) becomes the IPv4
// address it embeds.
func Normalize(ip netip.Addr) netip.Addr {
	ip = ip.WithZone("").Unmap()
	if ip.Is6() && nat64.Contains(ip) {
		b := ip.As16()
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	return ip
}

// Classify reports the special-purpose range of a normalised address
// (see Normalize), or RangePublic. Documentation ranges are reported as
// RangeDocumentation unless allowDocumentation is set, in which case they
// read as public (so that fixtures built on them can be looked up).
func Classify(ip netip.Addr, allowDocumentation bool) Range {
	var r Range
	switch {
	case !ip.IsValid():
		return RangeUnspecified
	case ip.Is4():
		r = classify4(ip)
	default:
		for i := range specials6 {
			if specials6[i].p.Contains(ip) {
				r = specials6[i].r
				break
			}
		}
	}
	if r == RangeDocumentation && allowDocumentation {
		return RangePublic
	}
	return r
}

func classify4(ip netip.Addr) Range {
	// Fast path: most public addresses share no first octet with a special range.
	switch ip.As4()[0] {
	case 0, 10, 100, 127, 169, 172, 192, 198, 203:
	default:
		if ip.As4()[0] < 224 {
			return RangePublic
		}
	}
	for i := range specials4 {
		if specials4[i].p.Contains(ip) {
			return specials4[i].r
		}
	}
	return RangePublic
}
