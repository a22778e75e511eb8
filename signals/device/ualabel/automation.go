package ualabel

import (
	"strings"

	"github.com/riskauth/riskauth/signals/device/internal/asciifold"
)

// hasAutomationMarker reports whether the user agent ua names a headless
// browser, an automation framework or an HTTP library / tool, ignoring
// ASCII case. signals/device flags such clients Headless (type "bot").
//
// Markers start a word: the user agent itself or a space-separated word,
// after any opening punctuation ("(", "[", "+", ...). Only those positions
// are checked, jumping from space to space, with a switch on the first
// letter: a browser user agent has about a dozen words.
func hasAutomationMarker(ua string) bool {
	for {
		j := 0
		for j < len(ua) && isWordPunct(ua[j]) {
			j++
		}
		w := ua[j:]
		if w != "" && markerAt(w) {
			return true
		}
		i := strings.IndexByte(w, ' ')
		if i < 0 {
			return false
		}
		ua = w[i+1:]
	}
}

// isWordPunct reports whether c may precede a marker at the start of a word.
func isWordPunct(c byte) bool {
	switch c {
	case ' ', '(', '[', '{', '<', '"', '\'', '+', ';', ',':
		return true
	}
	return false
}

// markerAt reports whether s starts with a known marker, ignoring ASCII
// case. The list is short and explicit on purpose; signals/device's
// package doc says what it does not catch.
func markerAt(s string) bool {
	switch asciifold.Lower(s[0]) {
	case 'a':
		return asciifold.HasPrefix(s, "axios/") || asciifold.HasPrefix(s, "aiohttp/") || asciifold.HasPrefix(s, "apache-httpclient/")
	case 'c':
		return asciifold.HasPrefix(s, "curl/") || asciifold.HasPrefix(s, "chrome-lighthouse")
	case 'g':
		return asciifold.HasPrefix(s, "go-http-client/") || asciifold.HasPrefix(s, "guzzlehttp/") || asciifold.HasPrefix(s, "got (")
	case 'h':
		return asciifold.HasPrefix(s, "headless") || asciifold.HasPrefix(s, "httpie/") || asciifold.HasPrefix(s, "httpx/")
	case 'j':
		return asciifold.HasPrefix(s, "java/") || asciifold.HasPrefix(s, "jakarta commons-httpclient")
	case 'l':
		return asciifold.HasPrefix(s, "libwww-perl/") || asciifold.HasPrefix(s, "lwp::") || asciifold.HasPrefix(s, "libcurl")
	case 'n':
		return asciifold.HasPrefix(s, "node-fetch") || asciifold.HasPrefix(s, "node/") || asciifold.HasPrefix(s, "nmap scripting") || asciifold.HasPrefix(s, "nikto") || asciifold.HasPrefix(s, "nuclei")
	case 'o':
		return asciifold.HasPrefix(s, "okhttp/")
	case 'p':
		return asciifold.HasPrefix(s, "phantomjs") || asciifold.HasPrefix(s, "puppeteer") || asciifold.HasPrefix(s, "playwright") ||
			asciifold.HasPrefix(s, "python-requests/") || asciifold.HasPrefix(s, "python-urllib/") || asciifold.HasPrefix(s, "python-httpx/") ||
			asciifold.HasPrefix(s, "python/") || asciifold.HasPrefix(s, "postmanruntime/") || asciifold.HasPrefix(s, "powershell/")
	case 'r':
		return asciifold.HasPrefix(s, "ruby") || asciifold.HasPrefix(s, "rest-client/") || asciifold.HasPrefix(s, "reqwest/")
	case 's':
		return asciifold.HasPrefix(s, "scrapy/") || asciifold.HasPrefix(s, "selenium") || asciifold.HasPrefix(s, "slimerjs") || asciifold.HasPrefix(s, "sqlmap/")
	case 'u':
		return asciifold.HasPrefix(s, "undici")
	case 'w':
		return asciifold.HasPrefix(s, "wget/") || asciifold.HasPrefix(s, "webdriver") || asciifold.HasPrefix(s, "windowspowershell/")
	case 'z':
		return asciifold.HasPrefix(s, "zgrab/")
	}
	return false
}
