package ualabel

import "strings"

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
	switch lower(s[0]) {
	case 'a':
		return hasPrefix(s, "axios/") || hasPrefix(s, "aiohttp/") || hasPrefix(s, "apache-httpclient/")
	case 'c':
		return hasPrefix(s, "curl/") || hasPrefix(s, "chrome-lighthouse")
	case 'g':
		return hasPrefix(s, "go-http-client/") || hasPrefix(s, "guzzlehttp/") || hasPrefix(s, "got (")
	case 'h':
		return hasPrefix(s, "headless") || hasPrefix(s, "httpie/") || hasPrefix(s, "httpx/")
	case 'j':
		return hasPrefix(s, "java/") || hasPrefix(s, "jakarta commons-httpclient")
	case 'l':
		return hasPrefix(s, "libwww-perl/") || hasPrefix(s, "lwp::") || hasPrefix(s, "libcurl")
	case 'n':
		return hasPrefix(s, "node-fetch") || hasPrefix(s, "node/") || hasPrefix(s, "nmap scripting") || hasPrefix(s, "nikto") || hasPrefix(s, "nuclei")
	case 'o':
		return hasPrefix(s, "okhttp/")
	case 'p':
		return hasPrefix(s, "phantomjs") || hasPrefix(s, "puppeteer") || hasPrefix(s, "playwright") ||
			hasPrefix(s, "python-requests/") || hasPrefix(s, "python-urllib/") || hasPrefix(s, "python-httpx/") ||
			hasPrefix(s, "python/") || hasPrefix(s, "postmanruntime/") || hasPrefix(s, "powershell/")
	case 'r':
		return hasPrefix(s, "ruby") || hasPrefix(s, "rest-client/") || hasPrefix(s, "reqwest/")
	case 's':
		return hasPrefix(s, "scrapy/") || hasPrefix(s, "selenium") || hasPrefix(s, "slimerjs") || hasPrefix(s, "sqlmap/")
	case 'u':
		return hasPrefix(s, "undici")
	case 'w':
		return hasPrefix(s, "wget/") || hasPrefix(s, "webdriver") || hasPrefix(s, "windowspowershell/")
	case 'z':
		return hasPrefix(s, "zgrab/")
	}
	return false
}

// hasPrefix reports whether s starts with the lower-case prefix p,
// ignoring ASCII case in s.
func hasPrefix(s, p string) bool {
	if len(s) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		if lower(s[i]) != p[i] {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
