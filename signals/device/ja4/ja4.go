// Package ja4 computes the JA4 TLS client fingerprint (FoxIO's JA4, the
// TLS client part only; BSD 3-Clause, see NOTICE) from a ClientHello that
// riskauthd itself received, for a deployment where riskauthd terminates
// TLS and no edge reports a JA4. The engine reads it as event.ja4, like
// an edge's: its browser stack (event.ja4_stack, ja4_mismatch) and the
// per-device comparison (device.ja4_changed) tell a replayed device
// cookie in an anti-detect browser from the browser it was stolen from.
//
// The fingerprint is t13d1516h2_8daaf6152771_e5627efa2ab1: protocol
// (t: TCP; QUIC is not served), the highest TLS version offered, d when
// the client sent a server name (SNI) and i otherwise, the number of
// cipher suites and of extensions (two digits each, at most 99), the
// first and last characters of the first ALPN value (00 without ALPN);
// then the first 12 hex digits of the SHA-256 of the sorted cipher list,
// and of the sorted extension list (without SNI and ALPN) followed by the
// signature algorithms in the client's order. GREASE values (RFC 8701)
// are ignored everywhere.
//
// Listener and Config attach the fingerprint to each accepted connection
// during the handshake (crypto/tls's GetConfigForClient sees the parsed
// ClientHello); Of reads it back from a request's connection.
package ja4

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"slices"
)

// Hello is what JA4 reads from a ClientHello, in the client's order and
// with GREASE values still in (Compute drops them).
type Hello struct {
	// QUIC marks a ClientHello carried by QUIC (q); otherwise TCP (t).
	QUIC bool
	// Version is the legacy protocol version of the ClientHello, read
	// only when SupportedVersions is empty.
	Version uint16
	// SupportedVersions is the supported_versions extension's list.
	SupportedVersions []uint16
	// CipherSuites, Extensions and SignatureAlgorithms are the ids as sent.
	CipherSuites        []uint16
	Extensions          []uint16
	SignatureAlgorithms []uint16
	// ALPN is the application protocols offered, in order.
	ALPN []string
}

// Extension ids JA4 treats apart.
const (
	extSNI  = 0x0000
	extALPN = 0x0010
)

// FromClientHello computes the JA4 of a ClientHello crypto/tls parsed.
// Go fills SupportedVersions from the legacy version when the extension
// is absent, so the highest value is JA4's version either way.
func FromClientHello(h *tls.ClientHelloInfo) string {
	sigs := make([]uint16, len(h.SignatureSchemes))
	for i, s := range h.SignatureSchemes {
		sigs[i] = uint16(s)
	}
	return Compute(Hello{
		SupportedVersions:   h.SupportedVersions,
		CipherSuites:        h.CipherSuites,
		Extensions:          h.Extensions,
		SignatureAlgorithms: sigs,
		ALPN:                h.SupportedProtos,
	})
}

// IsGREASE reports whether v is one of the sixteen GREASE values of RFC
// 8701 (0x0a0a, 0x1a1a, ... 0xfafa).
func IsGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// Compute returns the JA4 fingerprint of h.
func Compute(h Hello) string {
	ciphers := withoutGREASE(h.CipherSuites)
	exts := withoutGREASE(h.Extensions)
	sigs := withoutGREASE(h.SignatureAlgorithms)

	b := make([]byte, 0, 36)
	if h.QUIC {
		b = append(b, 'q')
	} else {
		b = append(b, 't')
	}
	b = append(b, versionCode(h)...)
	if slices.Contains(exts, extSNI) {
		b = append(b, 'd')
	} else {
		b = append(b, 'i')
	}
	b = appendCount(b, len(ciphers))
	b = appendCount(b, len(exts))
	b = appendALPN(b, h.ALPN)
	b = append(b, '_')

	slices.Sort(ciphers)
	b = appendHash(b, hexList(nil, ciphers))
	b = append(b, '_')

	slices.Sort(exts)
	exts = slices.DeleteFunc(exts, func(e uint16) bool { return e == extSNI || e == extALPN })
	s := hexList(nil, exts)
	if len(sigs) > 0 {
		s = append(s, '_')
		s = hexList(s, sigs)
	}
	return string(appendHash(b, s))
}

// withoutGREASE copies vs without GREASE values.
func withoutGREASE(vs []uint16) []uint16 {
	out := make([]uint16, 0, len(vs))
	for _, v := range vs {
		if !IsGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

// versionCode is the two characters of the highest version offered.
func versionCode(h Hello) string {
	var v uint16
	for _, x := range h.SupportedVersions {
		if !IsGREASE(x) && x > v {
			v = x
		}
	}
	if v == 0 {
		v = h.Version
	}
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0200:
		return "s2"
	case 0x0100:
		return "s1"
	}
	return "00"
}

// appendCount appends n as two digits, 99 at most.
func appendCount(b []byte, n int) []byte {
	n = min(n, 99)
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

// appendALPN appends the first and last characters of the first ALPN
// value, 00 without one. A value that starts or ends with a byte that is
// not an ASCII letter or digit gives the first and last hex digits of the
// whole value instead (the spec's rule, so that binary ALPN values stay
// printable).
func appendALPN(b []byte, alpn []string) []byte {
	if len(alpn) == 0 || alpn[0] == "" {
		return append(b, '0', '0')
	}
	v := alpn[0]
	first, last := v[0], v[len(v)-1]
	if alnum(first) && alnum(last) {
		return append(b, first, last)
	}
	const digits = "0123456789abcdef"
	return append(b, digits[first>>4], digits[last&0x0f])
}

func alnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// hexList appends vs as four lower-case hex digits each, comma-separated.
func hexList(b []byte, vs []uint16) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = hex.AppendEncode(b, []byte{byte(v >> 8), byte(v)})
	}
	return b
}

// appendHash appends the first 12 hex digits of SHA-256(s); an empty list
// hashes to twelve zeros, as the spec's implementations print it.
func appendHash(b, s []byte) []byte {
	if len(s) == 0 {
		return append(b, "000000000000"...)
	}
	sum := sha256.Sum256(s)
	return hex.AppendEncode(b, sum[:6])
}
