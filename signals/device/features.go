package device

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/signals/device/internal/asciifold"
)

// Bounds on what is read from a descriptor. Every string is scanned for at
// most maxScanLen bytes and contributes at most its own limit, so the
// feature message always fits featureBufLen and hashing cost is bounded.
const (
	featureBufLen     = 1024
	maxScanLen        = 512
	maxLabelLen       = 32
	maxOSVersionLen   = 8
	maxPlatformLen    = 32
	maxTimezoneLen    = 64
	maxLanguageLen    = 35 // longest BCP 47 tag in practical use
	maxLanguagesRead  = 4  // entries of Languages looked at for the first non-empty one
	maxHashLen        = 128
	maxRendererScan   = 256 // real renderer strings are under 150 bytes
	maxRendererLen    = 200
	maxRendererTokens = 32
	maxTokenLen       = 32
	minCookieLen      = 8
	maxCookieLen      = 128
	minCookieDistinct = 4
)

// minIdentifyingWeight is how much identifying information a descriptor
// without a usable cookie must carry before an id is derived from it; below
// it the id would be shared by crowds of unrelated devices (everyone on
// Chrome/Windows in one timezone), which is worse than no id. See the table
// in doc.go for each field's weight.
const minIdentifyingWeight = 4

// Field tags of the feature message. Each field is written as tag, then a
// one-byte length and the bytes (strings) or a uvarint (numbers), so no two
// different feature sets encode to the same message. The message layout is
// part of the id: changing it changes every feature-derived id.
const (
	tagOS         = 'o'
	tagOSVersion  = 'v'
	tagBrowser    = 'b'
	tagPlatform   = 'p'
	tagScreen     = 's'
	tagColorDepth = 'c'
	tagPixelRatio = 'r'
	tagHWConc     = 'h'
	tagMemory     = 'm'
	tagTouch      = 't'
	tagTimezone   = 'z'
	tagLanguage   = 'l'
	tagCanvas     = 'C'
	tagWebGL      = 'W'
	tagRenderer   = 'R'
)

// appendFeatures appends the normalised stable features of d (and of the
// user agent labels) to b and returns how identifying they are.
func appendFeatures(b []byte, d *engine.DeviceDescriptor, osName, osVersion, browser string) ([]byte, int) {
	weight := 0
	b = appendStr(b, tagOS, osName, maxLabelLen)
	b = appendStr(b, tagOSVersion, osVersion, maxOSVersionLen)
	b = appendStr(b, tagBrowser, browser, maxLabelLen)
	b = appendPlatform(b, d.Platform, osName)

	// Screen as (short side, long side): rotating a phone or tablet swaps
	// width and height.
	w, h := clampInt(d.ScreenWidth, 1, 1<<16), clampInt(d.ScreenHeight, 1, 1<<16)
	if w == 0 || h == 0 {
		w, h = 0, 0
	} else {
		weight += 2
	}
	if w > h {
		w, h = h, w
	}
	b = append(b, tagScreen)
	b = binary.AppendUvarint(b, uint64(w))
	b = binary.AppendUvarint(b, uint64(h))

	b = appendUint(b, tagColorDepth, clampInt(d.ColorDepth, 1, 64))
	b = appendUint(b, tagPixelRatio, roundFloat(d.PixelRatio, 1, 16))
	hw := clampInt(d.HardwareConcurrency, 1, 1024)
	b = appendUint(b, tagHWConc, hw)
	mem := roundFloat(d.DeviceMemory, 4, 4096) // quarter GiB steps: 0.25, 0.5, 1, ...
	b = appendUint(b, tagMemory, mem)
	b = appendUint(b, tagTouch, clampInt(d.TouchPoints, 1, 256))
	if hw != 0 {
		weight++
	}
	if mem != 0 {
		weight++
	}

	var n int
	b, n = appendTimezone(b, d.Timezone)
	if n > 0 {
		weight++
	}
	b, n = appendLanguage(b, d.Languages)
	if n > 0 {
		weight++
	}
	b, n = appendHash(b, tagCanvas, d.CanvasHash)
	if n > 0 {
		weight += 3
	}
	b, n = appendHash(b, tagWebGL, d.WebGLHash)
	if n > 0 {
		weight += 3
	}
	b, n = appendRenderer(b, d.WebGLRenderer)
	if n > 0 {
		weight++
	}
	return b, weight
}

// appendStr writes tag, a length byte and up to limit bytes of s: printable
// ASCII only (spaces, control bytes, quotes and non-ASCII are dropped),
// letters lower-cased. limit must be < 256.
func appendStr(b []byte, tag byte, s string, limit int) []byte {
	b, _ = appendStrN(b, tag, s, limit)
	return b
}

// appendStrN is appendStr that also returns how many value bytes it wrote.
func appendStrN(b []byte, tag byte, s string, limit int) ([]byte, int) {
	b = slices.Grow(b, 2+limit)
	b = append(b, tag, 0)
	lenAt := len(b) - 1
	out := b[len(b) : len(b)+limit]
	n := 0
	for i := 0; i < len(s) && i < maxScanLen && n < len(out); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' {
			continue
		}
		out[n] = asciifold.Lower(c)
		n++
	}
	b[lenAt] = byte(n)
	return b[:len(b)+n], n
}

// setValue replaces the value of the field whose length byte is at lenAt
// with v.
func setValue(b []byte, lenAt int, v string) []byte {
	b = append(b[:lenAt+1], v...)
	b[lenAt] = byte(len(v))
	return b
}

func appendUint(b []byte, tag byte, v int) []byte {
	b = append(b, tag)
	return binary.AppendUvarint(b, uint64(v))
}

// clampInt returns v when lo <= v <= hi, else 0 (unknown).
func clampInt(v, lo, hi int) int {
	if v < lo || v > hi {
		return 0
	}
	return v
}

// roundFloat returns round(v*scale) when 0 < v <= hi, else 0 (unknown);
// NaN and infinities are unknown.
func roundFloat(v, scale, hi float64) int {
	if !(v > 0 && v <= hi) {
		return 0
	}
	return int(math.Round(v * scale))
}

// appendPlatform writes navigator.platform (or a client-hints platform)
// reduced to its family: the architecture suffix varies between browser
// releases on the same device ("Linux armv8l" / "Linux aarch64") and a
// collector may send either "Win32" or "Windows". An iPad asking for
// desktop sites reports "MacIntel"; once the user agent has been recognised
// as iOS (see Identify), that is "ipad" too, so toggling the setting keeps
// the id.
func appendPlatform(b []byte, s, osName string) []byte {
	start := len(b)
	b = appendStr(b, tagPlatform, s, maxPlatformLen)
	lenAt := start + 1
	v := b[lenAt+1:]
	switch {
	case asciifold.HasPrefix(v, "win"):
		b = setValue(b, lenAt, "windows")
	case asciifold.HasPrefix(v, "mac") && osName == "iOS":
		b = setValue(b, lenAt, "ipad")
	case asciifold.HasPrefix(v, "mac"):
		b = setValue(b, lenAt, "mac")
	case asciifold.Contains(v, "iphone"):
		b = setValue(b, lenAt, "iphone")
	case asciifold.Contains(v, "ipad"):
		b = setValue(b, lenAt, "ipad")
	case asciifold.Contains(v, "ipod"):
		b = setValue(b, lenAt, "ipod")
	case asciifold.HasPrefix(v, "linux"), asciifold.Contains(v, "android"):
		// navigator.platform on Android is "Linux <arch>"; the OS label
		// from the user agent already tells Android from desktop Linux.
		b = setValue(b, lenAt, "linux")
	case asciifold.HasPrefix(v, "cros"), asciifold.HasPrefix(v, "chromeos"):
		b = setValue(b, lenAt, "chromeos")
	}
	return b
}

// appendTimezone writes an IANA timezone name, lower-cased, with renamed
// zones mapped to their current name: browsers (and their ICU versions)
// differ in which of the two they report, and an upgrade may switch.
func appendTimezone(b []byte, s string) ([]byte, int) {
	start := len(b)
	b, n := appendStrN(b, tagTimezone, s, maxTimezoneLen)
	lenAt := start + 1
	if canon := canonicalZone(b[lenAt+1:]); canon != "" {
		b = setValue(b, lenAt, canon)
		n = len(canon)
	}
	return b, n
}

// canonicalZone returns the current name of a renamed (lower-cased) zone,
// or "" when z is not one of the renamed zones browsers still report.
func canonicalZone(z []byte) string {
	switch string(z) {
	case "asia/calcutta":
		return "asia/kolkata"
	case "asia/saigon":
		return "asia/ho_chi_minh"
	case "asia/katmandu":
		return "asia/kathmandu"
	case "asia/rangoon":
		return "asia/yangon"
	case "europe/kiev":
		return "europe/kyiv"
	case "atlantic/faeroe":
		return "atlantic/faroe"
	case "america/buenos_aires":
		return "america/argentina/buenos_aires"
	case "america/godthab":
		return "america/nuuk"
	case "pacific/truk":
		return "pacific/chuuk"
	case "pacific/ponape":
		return "pacific/pohnpei"
	case "etc/utc", "etc/gmt", "gmt", "universal", "zulu", "etc/universal", "etc/zulu", "etc/uct", "uct":
		return "utc"
	}
	return ""
}

// appendLanguage writes the first non-empty language tag, lower-cased with
// "_" spelled "-". Later entries are ignored: users reorder and extend the
// list and browsers append base languages ("en-US, en") differently.
func appendLanguage(b []byte, langs []string) ([]byte, int) {
	var first string
	for i := 0; i < len(langs) && i < maxLanguagesRead; i++ {
		if t := strings.TrimSpace(truncate(langs[i], maxScanLen)); t != "" {
			first = t
			break
		}
	}
	start := len(b)
	b, n := appendStrN(b, tagLanguage, first, maxLanguageLen)
	v := b[start+2:]
	for i, c := range v {
		if c == '_' {
			v[i] = '-'
		}
	}
	return b, n
}

// appendHash writes a canvas or WebGL hash as sent (lower-cased: collectors
// differ in hex case).
func appendHash(b []byte, tag byte, s string) ([]byte, int) {
	return appendStrN(b, tag, s, maxHashLen)
}

// appendRenderer writes the WebGL renderer string reduced to its distinctive
// words, each once, in order of first appearance. Driver and API versions
// ("D3D11-27.20.100.8681", "OpenGL 4.1", "Mesa 23.1.2"), PCI ids
// ("0x00002484"), backend words ("ANGLE", "Direct3D11", "Metal Renderer")
// and repeated vendor names change with driver and browser updates; the GPU
// model does not:
//
//	ANGLE (NVIDIA, NVIDIA GeForce RTX 3070 (0x00002484) Direct3D11 vs_5_0 ps_5_0, D3D11)
//	  -> "nvidia geforce rtx 3070"
//	ANGLE (Apple, ANGLE Metal Renderer: Apple M1, Unspecified Version)
//	  -> "apple m1"
func appendRenderer(b []byte, s string) ([]byte, int) {
	s = truncate(s, maxRendererScan)
	// Kept tokens, lower-cased, are copied to words; toks holds their
	// offsets there. Tokens are maximal runs of [A-Za-z0-9.].
	var words [maxRendererScan]byte
	var toks [maxRendererTokens][2]uint16
	nw, nt := 0, 0
	for i := 0; i < len(s) && nt < maxRendererTokens; {
		for i < len(s) && !isTokenByte(s[i]) {
			i++
		}
		start := nw
		letters := false
	token:
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c-'0' < 10:
			case (c|0x20)-'a' < 26:
				c |= 0x20
				letters = true
			case c == '.':
				if nw == start {
					continue // leading dots
				}
			default:
				break token
			}
			if nw-start < maxTokenLen {
				words[nw] = c
				nw++
			}
		}
		for nw > start && words[nw-1] == '.' {
			nw--
		}
		t := words[start:nw]
		if keepRendererToken(t, letters) && !seenToken(words[:], toks[:nt], t) {
			toks[nt] = [2]uint16{uint16(start), uint16(nw)}
			nt++
		} else {
			nw = start
		}
	}

	b = append(b, tagRenderer, 0)
	lenAt := len(b) - 1
	n := 0
	for _, tk := range toks[:nt] {
		t := words[tk[0]:tk[1]]
		sep := 0
		if n > 0 {
			sep = 1
		}
		if n+sep+len(t) > maxRendererLen {
			break
		}
		if sep == 1 {
			b = append(b, ' ')
		}
		b = append(b, t...)
		n += sep + len(t)
	}
	b[lenAt] = byte(n)
	return b, n
}

// seenToken reports whether t equals one of the tokens already kept in
// words.
func seenToken(words []byte, toks [][2]uint16, t []byte) bool {
	for _, tk := range toks {
		if string(words[tk[0]:tk[1]]) == string(t) {
			return true
		}
	}
	return false
}

func isTokenByte(c byte) bool {
	return isAlnum(c) || c == '.'
}

// keepRendererToken reports whether a lower-cased renderer word tells GPUs
// apart: not a version, PCI id, single character or backend/vendor filler.
// letters says whether t has any letter.
func keepRendererToken(t []byte, letters bool) bool {
	if len(t) < 2 {
		return false
	}
	if !letters {
		// Digits are a model number (3070); digits and dots a version
		// (4.1, 27.20.100.8681).
		return bytes.IndexByte(t, '.') < 0
	}
	if len(t) > 2 && t[0] == '0' && t[1] == 'x' && isHex(t[2:]) {
		return false // PCI device id
	}
	if len(t) > len("compatibility") {
		return true
	}
	switch string(t) {
	case "angle", "direct3d11", "direct3d9ex", "direct3d9", "d3d11", "d3d9", "vs", "ps",
		"opengl", "es", "gl", "metal", "vulkan", "renderer", "unspecified", "version",
		"tm", "inc", "corporation", "corp", "core", "profile", "compatibility":
		return false
	}
	return true
}

func isHex(t []byte) bool {
	for _, c := range t {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// validCookie returns the client-held device cookie id when it is usable:
// after trimming spaces, 8 to 128 printable ASCII bytes with at least 4
// distinct ones, and not a JavaScript "undefined". Anything else (missing,
// truncated, placeholder, binary) is ignored so broken clients do not all
// share one id.
func validCookie(s string) (string, bool) {
	if len(s) > 2*maxCookieLen {
		return "", false
	}
	s = strings.Trim(s, " \t\r\n")
	if len(s) < minCookieLen || len(s) > maxCookieLen {
		return "", false
	}
	var seen [128]bool
	distinct := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e {
			return "", false
		}
		if !seen[c] {
			seen[c] = true
			distinct++
		}
	}
	if distinct < minCookieDistinct || strings.EqualFold(s, "undefined") {
		return "", false
	}
	return s, true
}

// truncate returns at most the first n bytes of s.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
