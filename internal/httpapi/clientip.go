package httpapi

import (
	"net"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// clientIP returns the address of the client behind the connection: the
// TCP peer, or, when the peer is a trusted proxy, the first untrusted hop of
// the forwarding header read from right to left.
func (s *Server) clientIP(c *fiber.Ctx) netip.Addr {
	var peer netip.Addr
	if a, ok := c.Context().RemoteAddr().(*net.TCPAddr); ok {
		peer = a.AddrPort().Addr().Unmap()
	}
	if len(s.trusted) == 0 || !s.isTrusted(peer) {
		return peer
	}
	var hops []string
	if s.forwarded {
		for _, v := range c.Request().Header.PeekAll(HeaderForwarded) {
			hops = appendForwardedHops(hops, string(v))
		}
	} else {
		for _, v := range c.Request().Header.PeekAll(HeaderXForwardedFor) {
			hops = appendXFFHops(hops, string(v))
		}
	}
	return walkHops(peer, hops, s.isTrusted)
}

func (s *Server) isTrusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range s.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// walkHops walks the hops from the nearest (rightmost) to the farthest,
// starting at the TCP peer, and returns the first address that is not a
// trusted proxy: everything to its left was written by the client and could
// be forged. When every hop is trusted it returns the leftmost one. A hop
// that is not an IP address (RFC 7239 "unknown" or an obfuscated name, or
// garbage) ends the walk at the last address known, which is a trusted
// proxy's: the client cannot be told, and a forged value is never believed.
func walkHops(peer netip.Addr, hops []string, trusted func(netip.Addr) bool) netip.Addr {
	addr := peer
	for i := len(hops) - 1; i >= 0; i-- {
		if !trusted(addr) {
			return addr
		}
		h, ok := parseHop(hops[i])
		if !ok {
			return addr
		}
		addr = h
	}
	return addr
}

// appendXFFHops splits one X-Forwarded-For value ("client, proxy1, proxy2").
func appendXFFHops(hops []string, v string) []string {
	for h := range strings.SplitSeq(v, ",") {
		hops = append(hops, strings.TrimSpace(h))
	}
	return hops
}

// appendForwardedHops extracts the for= parameter of each element of one
// RFC 7239 Forwarded value (`for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`).
// An element without for= yields an empty hop, which ends the walk.
func appendForwardedHops(hops []string, v string) []string {
	for _, elem := range splitQuoted(v, ',') {
		hop := ""
		for _, pair := range splitQuoted(elem, ';') {
			k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "for") {
				val = strings.TrimSpace(val)
				if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
					val = strings.ReplaceAll(val[1:len(val)-1], `\`, "")
				}
				hop = val
			}
		}
		hops = append(hops, hop)
	}
	return hops
}

// splitQuoted splits s at sep outside double-quoted strings.
func splitQuoted(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// parseHop parses "addr", "ipv4:port", "[ipv6]" or "[ipv6]:port"; zones are
// refused.
func parseHop(h string) (netip.Addr, bool) {
	h = strings.TrimSpace(h)
	a, err := netip.ParseAddr(h)
	if err != nil {
		ap, err2 := netip.ParseAddrPort(h)
		switch {
		case err2 == nil:
			a = ap.Addr()
		case len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']':
			if a, err = netip.ParseAddr(h[1 : len(h)-1]); err != nil {
				return netip.Addr{}, false
			}
		default:
			return netip.Addr{}, false
		}
	}
	if a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
