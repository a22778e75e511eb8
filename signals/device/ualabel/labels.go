package ualabel

import (
	"strings"
	"sync"
	"sync/atomic"

	useragent "github.com/medama-io/go-useragent"
)

// Labels is everything riskauth reads from one user agent: the parser's
// browser, OS and device type mapped onto riskauth's labels, the versions
// the familiarity model compares, and whether the user agent names a
// headless browser or an HTTP tool. It holds strings and a bool only, so a
// value handed out by the cache shares nothing a caller could change.
type Labels struct {
	// Browser is the browser label (see [Browser]), "" if unknown.
	Browser string
	// BrowserRelease is Browser and the browser's major version, e.g.
	// "Chrome 131" (Browser alone when the parser found no version, ""
	// when Browser is ""): minor versions change every few days.
	BrowserRelease string
	// OS is the OS label (see [OS]), "" if unknown.
	OS string
	// OSRelease is OS and the version that identifies a release, e.g.
	// "Windows 10.0", "macOS 10.15", "iOS 17", "Android 14" (OS alone when
	// the user agent carries no version; see osVersion).
	OSRelease string
	// Type is desktop, mobile, tablet, tv, bot or "" (see [Type]), with
	// Android tablets told from phones: they send the phone's user agent
	// minus "Mobile". Automation markers do not change it.
	Type string
	// Automation reports whether a word of the user agent starts with a
	// known headless-browser, automation or HTTP-library marker
	// (HeadlessChrome, Puppeteer, curl/, python-requests/, ...; see
	// hasAutomationMarker).
	Automation bool
}

// parser returns the library's process-wide parser, whose trie is built
// from embedded data on first use (not at init: importing this package
// must stay cheap for binaries that never parse).
var parser = sync.OnceValue(useragent.NewParser)

// parses counts parse calls, so that tests can check that an evaluation
// parses its user agent at most once. Only misses pay for it.
var parses atomic.Uint64

// parse labels ua with the parser, bypassing the cache. ua is labelled as
// given: callers trim and cut it (both do so to 512 bytes).
func parse(ua string) Labels {
	parses.Add(1)
	p := parser().Parse(ua)
	l := Labels{
		Browser:    Browser(p.Browser()),
		OS:         OS(p.OS()),
		Type:       Type(p.Device()),
		Automation: hasAutomationMarker(ua),
	}
	if l.OS == "Android" && l.Type == "mobile" && !strings.Contains(ua, "Mobile") {
		// Android tablets send the same UA as phones minus "Mobile"
		// (always spelt so; the parser matches it case-sensitively too).
		l.Type = "tablet"
	}
	if l.Browser != "" {
		l.BrowserRelease = l.Browser
		if v := majorVersion(p.BrowserVersion()); v != "" {
			l.BrowserRelease += " " + v
		}
	}
	if l.OS != "" {
		l.OSRelease = l.OS
		if v := osVersion(l.OS, ua); v != "" {
			l.OSRelease += " " + v
		}
	}
	return l
}

// majorVersion returns the part of v before the first dot.
func majorVersion(v string) string {
	if i := strings.IndexByte(v, '.'); i >= 0 {
		return v[:i]
	}
	return v
}

// osVersion reads the OS version from the UA token that carries it. The UA
// parser (medama-io/go-useragent) reports the OS family but not its version,
// so this fills the gap with token scans, one per family, keeping only the
// part that identifies a release: Windows' NT version (frozen at 10.0 for
// Windows 10 and 11), the macOS major.minor (frozen at 10.15 by current
// browsers), the iOS, Android and ChromeOS major.
func osVersion(os, ua string) string {
	switch os {
	case "Windows":
		return versionAfter(ua, "Windows NT ", 2)
	case "macOS":
		v := versionAfter(ua, "Mac OS X ", 2)
		if major, _, _ := strings.Cut(v, "."); major != "10" {
			return major
		}
		return v
	case "iOS":
		if v := versionAfter(ua, "iPhone OS ", 1); v != "" {
			return v
		}
		return versionAfter(ua, "CPU OS ", 1)
	case "Android":
		return versionAfter(ua, "Android ", 1)
	case "ChromeOS":
		// "CrOS x86_64 15917.71.0": the platform version follows the arch.
		i := strings.Index(ua, "CrOS ")
		if i < 0 {
			return ""
		}
		rest := ua[i+len("CrOS "):]
		if j := strings.IndexByte(rest, ' '); j >= 0 {
			return versionAfter(rest[j:], " ", 1)
		}
	}
	return ""
}

// versionAfter returns the first parts components of the version that
// follows tok in ua ("10_15_7" and "10.15.7" both give "10.15" for parts 2),
// or "" if tok is absent or not followed by a digit.
func versionAfter(ua, tok string, parts int) string {
	i := strings.Index(ua, tok)
	if i < 0 {
		return ""
	}
	v := ua[i+len(tok):]
	var b strings.Builder
	n := 0
	for j := 0; j < len(v) && j < 16; j++ {
		c := v[j]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case (c == '.' || c == '_') && b.Len() > 0:
			n++
			if n == parts || j+1 >= len(v) || v[j+1] < '0' || v[j+1] > '9' {
				return b.String()
			}
			b.WriteByte('.')
		default:
			return b.String()
		}
	}
	return b.String()
}
