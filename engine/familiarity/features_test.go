package familiarity

import (
	"strings"
	"testing"

	"github.com/riskauth/riskauth/signals/device/ualabel"
	"github.com/stretchr/testify/assert"
)

// TestExtract checks the normalisation of raw inputs and the browser, OS
// and device-type values taken from real user agents.
func TestExtract(t *testing.T) {
	t.Parallel()
	e := NewExtractor(ualabel.NewCache(0).ReleaseLabels)
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

// TestFeatureString checks the features' stable names.
func TestFeatureString(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "ip", FeatureIP.String())
	assert.Equal(t, "feature(200)", Feature(200).String())
}

// TestExtractAllocations checks that the user agent costs Extract no
// allocation once ualabel has cached its labels (before the cache: three,
// for the version strings), whatever the other inputs cost.
func TestExtractAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	e := NewExtractor(ualabel.NewCache(0).ReleaseLabels)
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	for _, in := range []Input{
		{},
		{IP: "198.51.100.7", ASN: 3320, Country: "DE", City: "Berlin", DeviceID: "d_1"},
	} {
		without := testing.AllocsPerRun(100, func() { e.Extract(in) })
		in.UserAgent = ua
		e.Extract(in)
		if with := testing.AllocsPerRun(100, func() { e.Extract(in) }); with != without {
			t.Errorf("Extract(%+v): %v allocations, %v without the user agent", in, with, without)
		}
	}
}
