package engine

import (
	"net/netip"
	"strings"
)

// UserKey is the key velocity counters and profiles use for the event's
// user: the user id when given, else "id:" + the identifier in lower case
// and trimmed, so "Alice@Example.com " and "alice@example.com" are one user.
func UserKey(userID, identifier string) string {
	if userID != "" {
		return userID
	}
	if id := strings.ToLower(strings.TrimSpace(identifier)); id != "" {
		return "id:" + id
	}
	return ""
}

// Subnet returns the /24 of an IPv4 address or the /64 of an IPv6 one.
func Subnet(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	bits := 64
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// eventKeys derives an event's counter keys; device is its device id.
func eventKeys(ev *Event, device string) Keys {
	keys := Keys{User: UserKey(ev.UserID, ev.Identifier), Device: device}
	if ev.IP.IsValid() {
		keys.IP = ev.IP.String()
		keys.Subnet = Subnet(ev.IP)
	}
	return keys
}
