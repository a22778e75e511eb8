package simulate

import (
	"fmt"
	"time"
)

// Family is one browser on one OS and device type, with how its user-agent
// string looks and how fast its version moves. Browsers update themselves:
// a user's UA string changes every few weeks while the device stays the
// same, which is the false-positive source the browser-upgrade model is
// for.
type Family struct {
	// Name identifies the family in reports ("chrome-windows").
	Name string
	// Browser, OS and Type are the labels signals/device and
	// engine/familiarity derive from the UA (checked by a test).
	Browser, OS, Type string
	// Platform is what a browser collector reports as navigator.platform.
	Platform string
	// JA4 is the TLS client fingerprint of the family's TLS stack (the
	// edge sets it on the event): Chromium's for Chrome and Edge, and
	// Firefox's and Safari's own. It moves far slower than the version.
	JA4 string
	// Share is the family's weight when a device is drawn (rough 2025
	// desktop and mobile market shares).
	Share float64
	// Base is the major version at Epoch; one more every Cadence.
	Base    int
	Cadence time.Duration
	format  func(v int) string
	// Screens are the screen sizes a device of this family can have.
	Screens [][2]int
}

// JA4 fingerprints of the common TLS client stacks (late 2025, as
// published by JA4 databases and TLS impersonation libraries): Chromium
// (Chrome, Edge and Chromium-based anti-detect browsers alike), Firefox,
// Safari (macOS and iOS). ja4Script stands for a non-browser HTTP client's
// stack (a scripting language's TLS library); it is illustrative, not a
// captured value.
const (
	ja4Chromium = "t13d1516h2_8daaf6152771_d8a2da3f94cd"
	ja4Firefox  = "t13d1717h2_5b57614c22b0_3cbfd9057e0d"
	ja4Safari   = "t13d2013h2_a09f3c656075_7f0f34a4126d"
	ja4Script   = "t13d1812h1_85036bcba153_b26ce05bbdd6"
)

// locale is what a browser collector reports for a user's country: the
// time zone (Intl) and the language list (navigator.languages).
type locale struct {
	tz    string
	langs []string
}

// locales are the home countries' usual settings; other countries get UTC
// and English.
var locales = map[string]locale{
	"US": {"America/New_York", []string{"en-US", "en"}}, "DE": {"Europe/Berlin", []string{"de-DE", "de", "en"}},
	"GB": {"Europe/London", []string{"en-GB", "en"}}, "FR": {"Europe/Paris", []string{"fr-FR", "fr", "en"}},
	"BR": {"America/Sao_Paulo", []string{"pt-BR", "pt"}}, "IN": {"Asia/Kolkata", []string{"en-IN", "hi", "en"}},
	"JP": {"Asia/Tokyo", []string{"ja-JP", "ja"}}, "CA": {"America/Toronto", []string{"en-CA", "fr-CA"}},
	"IT": {"Europe/Rome", []string{"it-IT", "it", "en"}}, "ES": {"Europe/Madrid", []string{"es-ES", "es"}},
	"AU": {"Australia/Sydney", []string{"en-AU", "en"}}, "NL": {"Europe/Amsterdam", []string{"nl-NL", "nl", "en"}},
	"PL": {"Europe/Warsaw", []string{"pl-PL", "pl"}}, "MX": {"America/Mexico_City", []string{"es-MX", "es"}},
	"SE": {"Europe/Stockholm", []string{"sv-SE", "sv", "en"}}, "CH": {"Europe/Zurich", []string{"de-CH", "de", "fr"}},
	"KR": {"Asia/Seoul", []string{"ko-KR", "ko"}}, "TR": {"Europe/Istanbul", []string{"tr-TR", "tr"}},
	"ZA": {"Africa/Johannesburg", []string{"en-ZA", "en"}}, "SG": {"Asia/Singapore", []string{"en-SG", "zh-SG"}},
}

func localeOf(country string) locale {
	if l, ok := locales[country]; ok {
		return l
	}
	return locale{"UTC", []string{"en"}}
}

// Epoch is the simulated start date; versions in Families are those of
// that date.
var Epoch = time.Date(2026, 9, 7, 0, 0, 0, 0, time.UTC)

const fourWeeks = 28 * 24 * time.Hour

// Families are the user-agent families the population uses: the common
// browser/OS pairs of 2025-26 with their real UA formats (Chrome's reduced
// UA: "10.0" and "10_15_7" are frozen, only the major version moves).
func Families() []Family {
	desk := [][2]int{{1920, 1080}, {1366, 768}, {1536, 864}, {2560, 1440}, {1440, 900}}
	mac := [][2]int{{1440, 900}, {1512, 982}, {1728, 1117}, {2560, 1440}}
	phone := [][2]int{{390, 844}, {393, 852}, {412, 915}, {360, 800}, {430, 932}}
	return []Family{
		{Name: "chrome-windows", Browser: "Chrome", OS: "Windows", Type: "desktop", Platform: "Win32", JA4: ja4Chromium, Share: 30, Base: 140, Cadence: fourWeeks, Screens: desk,
			format: func(v int) string {
				return fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36", v)
			}},
		{Name: "edge-windows", Browser: "Edge", OS: "Windows", Type: "desktop", Platform: "Win32", JA4: ja4Chromium, Share: 8, Base: 140, Cadence: fourWeeks, Screens: desk,
			format: func(v int) string {
				return fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36 Edg/%d.0.0.0", v, v)
			}},
		{Name: "firefox-windows", Browser: "Firefox", OS: "Windows", Type: "desktop", Platform: "Win32", JA4: ja4Firefox, Share: 5, Base: 143, Cadence: fourWeeks, Screens: desk,
			format: func(v int) string {
				return fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:%d.0) Gecko/20100101 Firefox/%d.0", v, v)
			}},
		{Name: "chrome-macos", Browser: "Chrome", OS: "macOS", Type: "desktop", Platform: "MacIntel", JA4: ja4Chromium, Share: 8, Base: 140, Cadence: fourWeeks, Screens: mac,
			format: func(v int) string {
				return fmt.Sprintf("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Safari/537.36", v)
			}},
		{Name: "safari-macos", Browser: "Safari", OS: "macOS", Type: "desktop", Platform: "MacIntel", JA4: ja4Safari, Share: 5, Base: 0, Cadence: 8 * 7 * 24 * time.Hour, Screens: mac,
			format: func(v int) string {
				return fmt.Sprintf("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.%d Safari/605.1.15", v)
			}},
		{Name: "firefox-linux", Browser: "Firefox", OS: "Linux", Type: "desktop", Platform: "Linux x86_64", JA4: ja4Firefox, Share: 2, Base: 143, Cadence: fourWeeks, Screens: desk,
			format: func(v int) string {
				return fmt.Sprintf("Mozilla/5.0 (X11; Linux x86_64; rv:%d.0) Gecko/20100101 Firefox/%d.0", v, v)
			}},
		{Name: "safari-iphone", Browser: "Safari", OS: "iOS", Type: "mobile", Platform: "iPhone", JA4: ja4Safari, Share: 20, Base: 6, Cadence: 8 * 7 * 24 * time.Hour, Screens: phone,
			format: func(v int) string {
				return fmt.Sprintf("Mozilla/5.0 (iPhone; CPU iPhone OS 18_%d like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.%d Mobile/15E148 Safari/604.1", v, v)
			}},
		{Name: "chrome-android", Browser: "Chrome", OS: "Android", Type: "mobile", Platform: "Linux armv8l", JA4: ja4Chromium, Share: 22, Base: 140, Cadence: fourWeeks, Screens: phone,
			format: func(v int) string {
				return fmt.Sprintf("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/%d.0.0.0 Mobile Safari/537.36", v)
			}},
	}
}

// Version returns the family's major version released at t.
func (f *Family) Version(t time.Time) int {
	d := t.Sub(Epoch)
	if d < 0 {
		return f.Base
	}
	return f.Base + int(d/f.Cadence)
}

// UA returns the user-agent string of version v.
func (f *Family) UA(v int) string { return f.format(v) }

// Mobile reports whether devices of the family are phones.
func (f *Family) Mobile() bool { return f.Type == "mobile" }
