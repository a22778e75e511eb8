package ualabel

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// corpus are real user agents (those of signals/device's and
// engine/familiarity's tests) and some odd ones.
var corpus = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.4896.127 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.5615.135 Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; CrOS x86_64 15917.71.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Playwright/1.40",
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
	"curl/8.5.0", "python-requests/2.31.0", "Go-http-client/1.1", "okhttp/4.12.0", "Java/17.0.9",
	"libwww-perl/6.72", "axios/1.6.2", "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
	"Scrapy/2.11.0 (+https://scrapy.org)", "Wget/1.21.4",
	"MyBank/5.2.1 CFNetwork/1494.0.7 Darwin/23.4.0",
	"", " ", "\xff\x00Mozilla/5.0 (", strings.Repeat("Chrome/1.", 100),
}

// fullCorpus is corpus, signals/device's fuzzing corpus (odd user agents
// the fuzzer found interesting) and each with surrounding spaces and cut
// in half, so that near-identical keys are in it too.
func fullCorpus(t *testing.T) []string {
	t.Helper()
	uas := append([]string(nil), corpus...)
	files, err := filepath.Glob(filepath.Join("..", "testdata", "fuzz", "FuzzIdentify", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("fuzz corpus: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// "go test fuzz v1", then one value per line; the first is the
		// user agent.
		lines := strings.Split(string(b), "\n")
		if len(lines) < 2 || !strings.HasPrefix(lines[1], "string(") {
			t.Fatalf("%s: unexpected format", f)
		}
		ua, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		uas = append(uas, ua)
	}
	for _, ua := range uas[:len(uas):len(uas)] {
		uas = append(uas, " "+ua+" ", ua[:len(ua)/2])
	}
	return uas
}

// TestCachedMatchesUncached checks that labels served by the cache, on a
// miss, on a hit, after evictions and through ParseAgain, are those of a
// fresh parse.
func TestCachedMatchesUncached(t *testing.T) {
	t.Parallel()
	uas := fullCorpus(t)
	small := newCache(0) // minSize entries: evicts all the time
	big := newCache(DefaultCacheSize)
	shared := NewCache(0)
	for round := range 2 {
		for _, ua := range uas {
			want := parse(ua)
			for name, got := range map[string]Labels{
				"small": small.parse(ua, false), "small again": small.parse(ua, true),
				"big": big.parse(ua, false), "big again": big.parse(ua, true),
				"Parse": shared.Parse(ua), "ParseAgain": shared.ParseAgain(ua),
			} {
				if got != want {
					t.Fatalf("round %d, %s(%q) = %+v, want %+v", round, name, ua, got, want)
				}
			}
		}
	}
}

// TestLabelsImmutable guards the cache's sharing: Labels are copied out of
// it, which is only a deep copy while they hold no slices, maps or
// pointers.
func TestLabelsImmutable(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[Labels]()
	for i := range typ.NumField() {
		switch k := typ.Field(i).Type.Kind(); k {
		case reflect.String, reflect.Bool:
		default:
			t.Errorf("Labels.%s is a %s: a cached value would be shared", typ.Field(i).Name, k)
		}
	}
}

// TestLabels checks the labels of a few user agents, fields the device
// and familiarity tests do not see on their own.
func TestLabels(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		ua   string
		want Labels
	}{
		{corpus[1], Labels{Browser: "Chrome", BrowserRelease: "Chrome 131", OS: "Windows", OSRelease: "Windows 10.0", Type: "desktop"}},
		{corpus[12], Labels{Browser: "Chrome", BrowserRelease: "Chrome 131", OS: "Android", OSRelease: "Android 10", Type: "tablet"}},
		{corpus[16], Labels{Browser: "Chrome", BrowserRelease: "Chrome 131", OS: "Linux", OSRelease: "Linux", Type: "bot", Automation: true}},
		{"curl/8.5.0", Labels{Type: "bot", Automation: true}},
		{"MyBank/5.2.1 CFNetwork/1494.0.7 Darwin/23.4.0", Labels{}},
	} {
		if got := NewCache(0).Parse(c.ua); got != c.want {
			t.Errorf("Parse(%q) = %+v, want %+v", c.ua, got, c.want)
		}
	}
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
		if got := versionAfter(c.ua, c.tok, c.parts); got != c.want {
			t.Errorf("versionAfter(%q, %q, %d) = %q, want %q", c.ua, c.tok, c.parts, got, c.want)
		}
	}
	for _, c := range []struct{ os, ua, want string }{
		{"ChromeOS", "Mozilla/5.0 (X11; CrOS x86_64 15917.71.0) Chrome/131", "15917"},
		{"Linux", "X11; Linux x86_64", ""},
		{"iOS", "(iPad; CPU OS 17_4 like Mac OS X)", "17"},
		{"macOS", "(Macintosh; Intel Mac OS X 14_5)", "14"},
	} {
		if got := osVersion(c.os, c.ua); got != c.want {
			t.Errorf("osVersion(%q, %q) = %q, want %q", c.os, c.ua, got, c.want)
		}
	}
}

func TestAutomationMarkerBoundaries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ua   string
		want bool
	}{
		{"curl/8.5.0", true},
		{"x curl/8", true},
		{"x (curl/8", true},
		{"x;curl/8", false}, // not at a word start: accepted miss
		{"mycurl/1.0", false},
		{"java/17", true},
		{"javascript/1", false},
		{"notheadless", false},
		{"(headless)", true},
		{"ruby", true},
		{"HeadlessChrome/1", true},
		{"CURL/1", true},
		{"", false},
	}
	for _, tc := range tests {
		t.Run(tc.ua, func(t *testing.T) {
			t.Parallel()
			if got := hasAutomationMarker(tc.ua); got != tc.want {
				t.Fatalf("hasAutomationMarker(%q) = %v, want %v", tc.ua, got, tc.want)
			}
		})
	}
}
