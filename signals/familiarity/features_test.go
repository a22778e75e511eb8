package familiarity

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestExtract checks the normalisation of raw inputs and the browser, OS
// and device-type values taken from real user agents.
func TestExtract(t *testing.T) {
	t.Parallel()
	e := NewExtractor()
	cases := []struct {
		name string
		in   Input
		want Features
	}{
		{
			"chrome windows",
			Input{IP: " 198.51.100.7 ", ASN: 3320, Country: "de", City: "Berlin", DeviceID: "d_1",
				UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
			Features{IP: "198.51.100.7", ASN: "AS3320", City: "DE/Berlin", Country: "DE", DeviceID: "d_1",
				UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
				Browser:   "Chrome 131", OS: "Windows 10.0", DeviceType: "desktop"},
		},
		{
			"safari iphone, ipv6 /64",
			Input{IP: "2001:db8:1:2:a:b:c:d", Country: "US",
				UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"},
			Features{IP: "2001:db8:1:2::/64", Country: "US",
				UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
				Browser:   "Safari 17", OS: "iOS 17", DeviceType: "mobile"},
		},
		{
			"firefox mac, mapped ipv4",
			Input{IP: "::ffff:192.0.2.1", UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"},
			Features{IP: "192.0.2.1",
				UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
				Browser:   "Firefox 133", OS: "macOS 10.15", DeviceType: "desktop"},
		},
		{
			"safari mac",
			Input{UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15"},
			Features{UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
				Browser: "Safari 17", OS: "macOS 10.15", DeviceType: "desktop"},
		},
		{
			"android phone",
			Input{UserAgent: "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.5615.135 Mobile Safari/537.36"},
			Features{UserAgent: "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.5615.135 Mobile Safari/537.36",
				Browser: "Chrome 112", OS: "Android 13", DeviceType: "mobile"},
		},
		{
			"android tablet",
			Input{UserAgent: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
			Features{UserAgent: "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
				Browser: "Chrome 131", OS: "Android 10", DeviceType: "tablet"},
		},
		{
			"linux has no version",
			Input{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
			Features{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
				Browser: "Chrome 131", OS: "Linux", DeviceType: "desktop"},
		},
		{
			"empty and invalid",
			Input{IP: "not an address", City: "Nowhere"},
			Features{City: "/Nowhere"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, c.want, e.Extract(c.in))
		})
	}
	t.Run("long user agent is cut", func(t *testing.T) {
		t.Parallel()
		x := e.Extract(Input{UserAgent: strings.Repeat("A", 10000)})
		assert.Len(t, x.UserAgent, MaxUserAgentLen)
	})
}

// TestVersionAfter checks the OS version token scan on edge cases.
func TestVersionAfter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ua, tok string
		parts   int
		want    string
	}{
		{"Mac OS X 10_15_7)", "Mac OS X ", 2, "10.15"},
		{"Mac OS X 14.5;", "Mac OS X ", 2, "14.5"},
		{"Windows NT 6.1;", "Windows NT ", 2, "6.1"},
		{"Android 14", "Android ", 1, "14"},
		{"Android 14.0.1", "Android ", 1, "14"},
		{"Android ;", "Android ", 1, ""},
		{"Android 9.", "Android ", 2, "9"},
		{"no token", "Android ", 1, ""},
		{"CrOS x86_64 15917.71.0)", " ", 1, ""}, // first token after " " is not a digit
	}
	for _, c := range cases {
		assert.Equal(t, c.want, versionAfter(c.ua, c.tok, c.parts), c.ua)
	}
	assert.Equal(t, "15917", osVersion("ChromeOS", "Mozilla/5.0 (X11; CrOS x86_64 15917.71.0) Chrome/131"))
	assert.Equal(t, "", osVersion("Linux", "X11; Linux x86_64"))
	assert.Equal(t, "17", osVersion("iOS", "(iPad; CPU OS 17_4 like Mac OS X)"))
	assert.Equal(t, "ip", FeatureIP.String())
	assert.Equal(t, "feature(200)", Feature(200).String())
}
