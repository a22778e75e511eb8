package engine

import (
	_ "embed"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// AttrEmailDomain is the event attribute that carries the user's email
// domain (never the address): authn sets it from the account's email, a
// risk API caller may send it. It keys the domain/ASN counters
// (KeyDomainASN), the population's evidence that users of one organisation
// sign in from its own network, which spares a new user's second device a
// step-up there (docs/detection.md "Email domain and ASN").
const AttrEmailDomain = "email_domain"

//go:embed freemail.txt
var freeMailList string

// freeMail holds the domains that never count: anyone can have an address
// there, so sharing one with other users on a network vouches for nothing.
var freeMail = parseDomainList(freeMailList)

func parseDomainList(src string) map[string]struct{} {
	m := map[string]struct{}{}
	for line := range strings.SplitSeq(src, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[line] = struct{}{}
		}
	}
	return m
}

// EmailDomain returns the domain of an email address or a bare domain, in
// the form the domain/ASN counters key by: lower case, IDNs in their ASCII
// (punycode) form, without a trailing dot, so that "Example.COM.",
// "example.com" and "ÉXAMPLE.com"'s punycode are each one key. It returns
// "" for what is not a valid host name.
func EmailDomain(s string) string {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" || len(s) > 253 || !strings.Contains(s, ".") || !utf8.ValidString(s) {
		return ""
	}
	d, err := idna.Lookup.ToASCII(s)
	d = strings.ToLower(d)
	if err != nil || len(d) > 253 || !strings.Contains(d, ".") || strings.HasPrefix(d, ".") ||
		strings.HasSuffix(d, ".") || strings.Contains(d, "..") || strings.ContainsAny(d, "@/ ") {
		return ""
	}
	if a, err := idna.Lookup.ToASCII(d); err != nil || a != d {
		// One key per domain: a form that converts again is refused.
		return ""
	}
	return d
}

// IsFreeMail reports whether the (normalised) domain is a free-mail one.
func IsFreeMail(domain string) bool {
	_, ok := freeMail[domain]
	return ok
}

// domainASNKey returns the KeyDomainASN value for an event's email domain
// attribute and network: "" (the counter neither read nor bumped) without
// a domain, for a free-mail domain or an unknown ASN.
func domainASNKey(attrs map[string]string, asn int) string {
	if asn <= 0 {
		return ""
	}
	raw, ok := attrs[AttrEmailDomain]
	if !ok {
		return ""
	}
	d := EmailDomain(raw)
	if d == "" || IsFreeMail(d) {
		return ""
	}
	return d + "/AS" + strconv.Itoa(asn)
}
