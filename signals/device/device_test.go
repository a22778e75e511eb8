package device

import (
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/riskauth/riskauth/engine"
)

// Real user agents.
const (
	uaChrome100Win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/100.0.4896.127 Safari/537.36"
	uaChrome120Win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	uaChrome131Win = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaChrome109W7  = "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36"
	uaEdge120      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
	uaEdge131      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86"
	uaFirefox115   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:115.0) Gecko/20100101 Firefox/115.0"
	uaFirefox133   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaFirefoxWin   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
	uaSafari16Mac  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Safari/605.1.15"
	uaSafari17Mac  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15"
	uaSafariiOS16  = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
	uaSafariiOS17  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	uaSafariiPad   = "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	uaAndroid112   = "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.5615.135 Mobile Safari/537.36"
	uaAndroid131   = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
	uaAndroidTab   = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaSamsung      = "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"
	uaLinuxChrome  = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaHeadless     = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36"
	uaHeadlessWin  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36"
	uaPhantom      = "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1"
	uaCurl         = "curl/8.5.0"
	uaRequests     = "python-requests/2.31.0"
	uaGoHTTP       = "Go-http-client/1.1"
	uaGoHTTP2      = "Go-http-client/2.0"
	uaOkHTTP       = "okhttp/4.12.0"
	uaJava         = "Java/17.0.9"
	uaPerl         = "libwww-perl/6.72"
	uaAxios        = "axios/1.6.2"
	uaNodeFetch    = "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)"
	uaScrapy       = "Scrapy/2.11.0 (+https://scrapy.org)"
	uaWget         = "Wget/1.21.4"
	uaGooglebot    = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	uaNativeiOS    = "MyBank/5.2.1 CFNetwork/1494.0.7 Darwin/23.4.0"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

var idFormat = regexp.MustCompile(`^d_[0-9a-f]{32}$`)

func newIdentifier(t testing.TB, key []byte) *Identifier {
	t.Helper()
	x, err := New(Config{Key: key})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return x
}

// windowsDesk is one Windows desktop as a browser collector reports it.
func windowsDesk() *engine.DeviceDescriptor {
	return &engine.DeviceDescriptor{
		Platform:            "Win32",
		Languages:           []string{"en-US", "en"},
		Timezone:            "Europe/Berlin",
		ScreenWidth:         2560,
		ScreenHeight:        1440,
		ColorDepth:          24,
		PixelRatio:          1.25,
		HardwareConcurrency: 16,
		DeviceMemory:        8,
		CanvasHash:          "a3f19c0e5b7d2c41",
		WebGLHash:           "9c2e77d0b1a4f3e8",
		WebGLRenderer:       "ANGLE (NVIDIA, NVIDIA GeForce RTX 3070 (0x00002484) Direct3D11 vs_5_0 ps_5_0, D3D11)",
	}
}

// macBook is one MacBook.
func macBook() *engine.DeviceDescriptor {
	return &engine.DeviceDescriptor{
		Platform:            "MacIntel",
		Languages:           []string{"de-DE", "de", "en"},
		Timezone:            "Europe/Vienna",
		ScreenWidth:         1512,
		ScreenHeight:        982,
		ColorDepth:          30,
		PixelRatio:          2,
		HardwareConcurrency: 8,
		CanvasHash:          "77e0c1d2",
		WebGLRenderer:       "ANGLE (Apple, ANGLE Metal Renderer: Apple M1, Unspecified Version)",
	}
}

// iPhone is one iPhone (no WebGL hash, as some collectors send).
func iPhone() *engine.DeviceDescriptor {
	return &engine.DeviceDescriptor{
		Platform:            "iPhone",
		Languages:           []string{"fr-FR"},
		Timezone:            "Europe/Paris",
		ScreenWidth:         390,
		ScreenHeight:        844,
		ColorDepth:          24,
		PixelRatio:          3,
		HardwareConcurrency: 6,
		TouchPoints:         5,
		CanvasHash:          "0badf00d",
		WebGLRenderer:       "Apple GPU",
	}
}

// pixel is one Android phone.
func pixel() *engine.DeviceDescriptor {
	return &engine.DeviceDescriptor{
		Platform:            "Linux armv8l",
		Languages:           []string{"en-GB", "en"},
		Timezone:            "Europe/London",
		ScreenWidth:         412,
		ScreenHeight:        915,
		ColorDepth:          24,
		PixelRatio:          2.625,
		HardwareConcurrency: 8,
		DeviceMemory:        8,
		TouchPoints:         5,
		CanvasHash:          "5eed5eed",
		WebGLRenderer:       "Adreno (TM) 730",
	}
}

func with(d *engine.DeviceDescriptor, f func(*engine.DeviceDescriptor)) *engine.DeviceDescriptor {
	f(d)
	return d
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		key     []byte
		wantErr error
	}{
		{"nil key", nil, ErrKeyTooShort},
		{"short key", []byte("0123456789abcde"), ErrKeyTooShort},
		{"min key", []byte("0123456789abcdef"), nil},
		{"long key", []byte(strings.Repeat("k", 200)), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x, err := New(Config{Key: tc.key})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("New() error = %v, want %v", err, tc.wantErr)
			}
			if (x == nil) != (tc.wantErr != nil) {
				t.Fatalf("New() = %v, error %v", x, err)
			}
		})
	}
}

func TestNewCopiesKey(t *testing.T) {
	t.Parallel()
	key := append([]byte(nil), testKey...)
	x := newIdentifier(t, key)
	want := x.Identify(windowsDesk(), uaChrome131Win).ID
	key[0] ^= 0xff
	if got := x.Identify(windowsDesk(), uaChrome131Win).ID; got != want {
		t.Fatalf("id changed after caller modified its key: %s != %s", got, want)
	}
}

func TestSameDeviceSameID(t *testing.T) {
	t.Parallel()
	x := newIdentifier(t, testKey)
	tests := []struct {
		name   string
		d1, d2 *engine.DeviceDescriptor
		ua1    string
		ua2    string
	}{
		{"chrome 120 to 131", windowsDesk(), windowsDesk(), uaChrome120Win, uaChrome131Win},
		{"chrome full version to reduced UA", windowsDesk(), windowsDesk(), uaChrome100Win, uaChrome131Win},
		{"edge 120 to 131", windowsDesk(), windowsDesk(), uaEdge120, uaEdge131},
		{"firefox 115 to 133", macBook(), macBook(), uaFirefox115, uaFirefox133},
		{"safari 16 to 17 on macOS", macBook(), macBook(), uaSafari16Mac, uaSafari17Mac},
		{"safari iOS 16 to 17", iPhone(), iPhone(), uaSafariiOS16, uaSafariiOS17},
		{"android chrome full UA to reduced UA", pixel(), pixel(), uaAndroid112, uaAndroid131},
		{"minor UA token change", windowsDesk(), windowsDesk(), uaChrome131Win, uaChrome131Win + " Herring/97.1.8280.8"},
		{"UA padded with spaces", windowsDesk(), windowsDesk(), uaChrome131Win, " " + uaChrome131Win + " "},
		{
			"GPU driver update",
			windowsDesk(),
			with(windowsDesk(), func(d *engine.DeviceDescriptor) {
				d.WebGLRenderer = "ANGLE (NVIDIA, NVIDIA GeForce RTX 3070 Direct3D11 vs_5_0 ps_5_0, D3D11-31.0.15.4633)"
			}),
			uaChrome120Win, uaChrome131Win,
		},
		{
			"ANGLE OpenGL to Metal backend",
			with(macBook(), func(d *engine.DeviceDescriptor) { d.WebGLRenderer = "ANGLE (Apple, Apple M1, OpenGL 4.1)" }),
			macBook(),
			uaSafari16Mac, uaSafari17Mac,
		},
		{
			"language list reordered beyond first",
			windowsDesk(),
			with(windowsDesk(), func(d *engine.DeviceDescriptor) { d.Languages = []string{"en-US", "de", "fr", "en"} }),
			uaChrome131Win, uaChrome131Win,
		},
		{
			"language case and separator",
			windowsDesk(),
			with(windowsDesk(), func(d *engine.DeviceDescriptor) { d.Languages = []string{" en_us "} }),
			uaChrome131Win, uaChrome131Win,
		},
		{
			"screen orientation",
			pixel(),
			with(pixel(), func(d *engine.DeviceDescriptor) { d.ScreenWidth, d.ScreenHeight = 915, 412 }),
			uaAndroid131, uaAndroid131,
		},
		{
			"platform from client hints",
			windowsDesk(),
			with(windowsDesk(), func(d *engine.DeviceDescriptor) { d.Platform = `"Windows"` }),
			uaChrome131Win, uaChrome131Win,
		},
		{
			"android platform architecture",
			pixel(),
			with(pixel(), func(d *engine.DeviceDescriptor) { d.Platform = "Linux aarch64" }),
			uaAndroid112, uaAndroid131,
		},
		{
			"iPad toggling request desktop website",
			with(iPhone(), func(d *engine.DeviceDescriptor) { d.Platform, d.ScreenWidth, d.ScreenHeight = "iPad", 820, 1180 }),
			with(iPhone(), func(d *engine.DeviceDescriptor) { d.Platform, d.ScreenWidth, d.ScreenHeight = "MacIntel", 820, 1180 }),
			uaSafariiPad, uaSafari17Mac,
		},
		{
			"renamed timezone",
			with(windowsDesk(), func(d *engine.DeviceDescriptor) { d.Timezone = "Asia/Calcutta" }),
			with(windowsDesk(), func(d *engine.DeviceDescriptor) { d.Timezone = "Asia/Kolkata" }),
			uaChrome120Win, uaChrome131Win,
		},
		{
			"pixel ratio zoom within rounding",
			windowsDesk(),
			with(windowsDesk(), func(d *engine.DeviceDescriptor) { d.PixelRatio = 1.1 }),
			uaChrome131Win, uaChrome131Win,
		},
		{
			"hash case",
			windowsDesk(),
			with(windowsDesk(), func(d *engine.DeviceDescriptor) { d.CanvasHash = strings.ToUpper(d.CanvasHash) }),
			uaChrome131Win, uaChrome131Win,
		},
		{
			"empty cookie id ignored",
			windowsDesk(),
			with(windowsDesk(), func(d *engine.DeviceDescriptor) { d.CookieID = "undefined" }),
			uaChrome131Win, uaChrome131Win,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := x.Identify(tc.d1, tc.ua1), x.Identify(tc.d2, tc.ua2)
			if !idFormat.MatchString(a.ID) {
				t.Fatalf("id %q does not match %s", a.ID, idFormat)
			}
			if a.ID != b.ID {
				t.Fatalf("ids differ for the same device: %s (%+v) vs %s (%+v)", a.ID, a, b.ID, b)
			}
			if a.HasCookie || b.HasCookie {
				t.Fatalf("HasCookie set without a valid cookie id")
			}
		})
	}
}

func TestDifferentDeviceDifferentID(t *testing.T) {
	t.Parallel()
	x := newIdentifier(t, testKey)
	base := x.Identify(windowsDesk(), uaChrome131Win)
	if base.ID == "" {
		t.Fatal("base device has no id")
	}
	tests := []struct {
		name string
		mod  func(*engine.DeviceDescriptor)
		ua   string
	}{
		{"screen", func(d *engine.DeviceDescriptor) { d.ScreenWidth, d.ScreenHeight = 1920, 1080 }, uaChrome131Win},
		{"hardware concurrency", func(d *engine.DeviceDescriptor) { d.HardwareConcurrency = 8 }, uaChrome131Win},
		{"device memory", func(d *engine.DeviceDescriptor) { d.DeviceMemory = 4 }, uaChrome131Win},
		{"timezone", func(d *engine.DeviceDescriptor) { d.Timezone = "America/New_York" }, uaChrome131Win},
		{"canvas hash", func(d *engine.DeviceDescriptor) { d.CanvasHash = "a3f19c0e5b7d2c42" }, uaChrome131Win},
		{"webgl hash", func(d *engine.DeviceDescriptor) { d.WebGLHash = "0000d0b1a4f3e8" }, uaChrome131Win},
		{"gpu model", func(d *engine.DeviceDescriptor) {
			d.WebGLRenderer = "ANGLE (NVIDIA, NVIDIA GeForce RTX 3080 (0x00002206) Direct3D11 vs_5_0 ps_5_0, D3D11)"
		}, uaChrome131Win},
		{"primary language", func(d *engine.DeviceDescriptor) { d.Languages = []string{"en-GB", "en"} }, uaChrome131Win},
		{"color depth", func(d *engine.DeviceDescriptor) { d.ColorDepth = 30 }, uaChrome131Win},
		{"pixel ratio", func(d *engine.DeviceDescriptor) { d.PixelRatio = 2 }, uaChrome131Win},
		{"touch screen", func(d *engine.DeviceDescriptor) { d.TouchPoints = 10 }, uaChrome131Win},
		{"platform", func(d *engine.DeviceDescriptor) { d.Platform = "Linux x86_64" }, uaChrome131Win},
		{"browser family", func(*engine.DeviceDescriptor) {}, uaFirefoxWin},
		{"edge vs chrome", func(*engine.DeviceDescriptor) {}, uaEdge131},
		{"os family", func(*engine.DeviceDescriptor) {}, uaLinuxChrome},
		{"windows 7", func(*engine.DeviceDescriptor) {}, uaChrome109W7},
		{"field moved between fields", func(d *engine.DeviceDescriptor) {
			d.CanvasHash, d.WebGLHash = d.WebGLHash, d.CanvasHash
		}, uaChrome131Win},
	}
	seen := map[string]string{base.ID: "base"}
	for _, tc := range tests {
		got := x.Identify(with(windowsDesk(), tc.mod), tc.ua)
		t.Run(tc.name, func(t *testing.T) {
			if !idFormat.MatchString(got.ID) {
				t.Fatalf("id %q does not match %s", got.ID, idFormat)
			}
			if prev, ok := seen[got.ID]; ok {
				t.Fatalf("id %s collides with %q", got.ID, prev)
			}
			seen[got.ID] = tc.name
		})
	}

	t.Run("distinct devices", func(t *testing.T) {
		ids := map[string]bool{}
		for _, c := range []struct {
			d  *engine.DeviceDescriptor
			ua string
		}{{windowsDesk(), uaChrome131Win}, {macBook(), uaSafari17Mac}, {iPhone(), uaSafariiOS17}, {pixel(), uaAndroid131}} {
			id := x.Identify(c.d, c.ua).ID
			if id == "" || ids[id] {
				t.Fatalf("device %+v: id %q empty or repeated", c.d, id)
			}
			ids[id] = true
		}
	})
}

func TestCookieDominates(t *testing.T) {
	t.Parallel()
	x := newIdentifier(t, testKey)
	const cookie = "3f9a1c7e-2b4d-4e8f-9a0b-1c2d3e4f5a6b"
	want := x.Identify(&engine.DeviceDescriptor{CookieID: cookie}, "")
	if !want.HasCookie || !idFormat.MatchString(want.ID) {
		t.Fatalf("cookie-only descriptor: %+v", want)
	}
	featureID := x.Identify(windowsDesk(), uaChrome131Win).ID

	t.Run("same cookie, any features", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			d  *engine.DeviceDescriptor
			ua string
		}{
			{with(windowsDesk(), func(d *engine.DeviceDescriptor) { d.CookieID = cookie }), uaChrome131Win},
			{with(macBook(), func(d *engine.DeviceDescriptor) { d.CookieID = cookie }), uaFirefox133},
			{&engine.DeviceDescriptor{CookieID: "  " + cookie + "\n"}, uaCurl},
		} {
			got := x.Identify(c.d, c.ua)
			if got.ID != want.ID || !got.HasCookie {
				t.Errorf("Identify(%+v) = %+v, want id %s with cookie", c.d, got, want.ID)
			}
			if got.ID == featureID {
				t.Errorf("cookie id equals feature id")
			}
		}
	})

	t.Run("different cookies", func(t *testing.T) {
		t.Parallel()
		other := x.Identify(&engine.DeviceDescriptor{CookieID: cookie[:len(cookie)-1] + "c"}, "")
		if other.ID == want.ID {
			t.Fatal("different cookie ids gave the same device id")
		}
	})

	invalid := []struct {
		name, cookie string
	}{
		{"too short", "abc1234"},
		{"too long", strings.Repeat("ab12", 33)},
		{"huge", strings.Repeat("x", 1<<20)},
		{"javascript undefined", "undefined"},
		{"javascript undefined upper", "UNDEFINED"},
		{"placeholder zeros", "00000000-0000-0000-0000-000000000000"},
		{"inner space", "3f9a1c7e 2b4d4e8f"},
		{"NUL", "3f9a1c7e\x002b4d4e8f"},
		{"invalid UTF-8", "3f9a1c7e\xff\xfe2b4d4e8f"},
		{"non-ASCII", "3f9a1c7e-ключ-2b4d"},
		{"spaces only", "            "},
	}
	for _, tc := range invalid {
		t.Run("invalid/"+tc.name, func(t *testing.T) {
			t.Parallel()
			d := with(windowsDesk(), func(d *engine.DeviceDescriptor) { d.CookieID = tc.cookie })
			got := x.Identify(d, uaChrome131Win)
			if got.HasCookie {
				t.Fatalf("cookie %q accepted", tc.cookie)
			}
			if got.ID != featureID {
				t.Fatalf("invalid cookie changed the feature id: %s != %s", got.ID, featureID)
			}
			if got := x.Identify(&engine.DeviceDescriptor{CookieID: tc.cookie}, uaChrome131Win); got.ID != "" || got.HasCookie {
				t.Fatalf("invalid cookie alone gave %+v", got)
			}
		})
	}
}

func TestKeySeparatesDeployments(t *testing.T) {
	t.Parallel()
	a := newIdentifier(t, testKey)
	b := newIdentifier(t, []byte("another deployment's secret key!"))
	for _, c := range []struct {
		name string
		d    *engine.DeviceDescriptor
	}{
		{"features", windowsDesk()},
		{"cookie", &engine.DeviceDescriptor{CookieID: "3f9a1c7e-2b4d-4e8f"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ia, ib := a.Identify(c.d, uaChrome131Win), b.Identify(c.d, uaChrome131Win)
			if ia.ID == "" || ia.ID == ib.ID {
				t.Fatalf("ids %q and %q: want different non-empty ids", ia.ID, ib.ID)
			}
		})
	}
}

func TestNothingIdentifying(t *testing.T) {
	t.Parallel()
	x := newIdentifier(t, testKey)
	tests := []struct {
		name string
		d    *engine.DeviceDescriptor
		ua   string
	}{
		{"nil descriptor, no UA", nil, ""},
		{"nil descriptor, browser UA", nil, uaChrome131Win},
		{"empty descriptor", &engine.DeviceDescriptor{}, uaChrome131Win},
		{"timezone and language only", &engine.DeviceDescriptor{Timezone: "Europe/Berlin", Languages: []string{"de-DE"}}, uaChrome131Win},
		{"canvas hash only", &engine.DeviceDescriptor{CanvasHash: "a3f19c0e5b7d2c41"}, uaChrome131Win},
		{"screen and timezone only", &engine.DeviceDescriptor{ScreenWidth: 1920, ScreenHeight: 1080, Timezone: "UTC"}, uaChrome131Win},
		{"garbage numbers", &engine.DeviceDescriptor{
			ScreenWidth: -1, ScreenHeight: 1 << 30, HardwareConcurrency: -4,
			DeviceMemory: math.NaN(), PixelRatio: math.Inf(1), ColorDepth: 1000,
		}, uaChrome131Win},
		{"whitespace strings", &engine.DeviceDescriptor{
			Timezone: "   ", Languages: []string{"", " "}, CanvasHash: "\t", WebGLHash: "\x00\x01", WebGLRenderer: "ANGLE (, , )",
		}, uaChrome131Win},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := x.Identify(tc.d, tc.ua); got.ID != "" || got.HasCookie {
				t.Fatalf("Identify() = %+v, want empty id", got)
			}
		})
	}

	t.Run("enough weight", func(t *testing.T) {
		t.Parallel()
		d := &engine.DeviceDescriptor{ScreenWidth: 1920, ScreenHeight: 1080, Timezone: "UTC", Languages: []string{"en-US"}}
		if got := x.Identify(d, uaChrome131Win); !idFormat.MatchString(got.ID) {
			t.Fatalf("screen+timezone+language: id %q", got.ID)
		}
	})
}

func TestLabels(t *testing.T) {
	t.Parallel()
	x := newIdentifier(t, testKey)
	tests := []struct {
		name             string
		ua               string
		d                *engine.DeviceDescriptor
		browser, os, typ string
		headless         bool
	}{
		{"chrome desktop", uaChrome131Win, nil, "Chrome", "Windows", "desktop", false},
		{"chrome linux", uaLinuxChrome, nil, "Chrome", "Linux", "desktop", false},
		{"firefox mac", uaFirefox133, nil, "Firefox", "macOS", "desktop", false},
		{"firefox windows", uaFirefoxWin, nil, "Firefox", "Windows", "desktop", false},
		{"safari mac", uaSafari17Mac, nil, "Safari", "macOS", "desktop", false},
		{"edge", uaEdge131, nil, "Edge", "Windows", "desktop", false},
		{"safari iOS", uaSafariiOS17, nil, "Safari", "iOS", "mobile", false},
		{"safari iPad", uaSafariiPad, nil, "Safari", "iOS", "tablet", false},
		{"iPad requesting desktop site", uaSafari17Mac, &engine.DeviceDescriptor{TouchPoints: 5}, "Safari", "iOS", "tablet", false},
		{"android chrome", uaAndroid131, nil, "Chrome", "Android", "mobile", false},
		{"android chrome tablet", uaAndroidTab, nil, "Chrome", "Android", "tablet", false},
		{"samsung internet", uaSamsung, nil, "Samsung Internet", "Android", "mobile", false},
		{"native iOS app", uaNativeiOS, nil, "", "", "", false},
		{"HeadlessChrome linux", uaHeadless, nil, "Chrome", "Linux", "bot", true},
		{"HeadlessChrome windows", uaHeadlessWin, nil, "Chrome", "Windows", "bot", true},
		{"PhantomJS", uaPhantom, nil, "Safari", "Linux", "bot", true},
		{"Puppeteer marker", uaChrome131Win + " Puppeteer", nil, "Chrome", "Windows", "bot", true},
		{"Playwright marker", uaChrome131Win + " Playwright/1.40", nil, "Chrome", "Windows", "bot", true},
		{"Googlebot", uaGooglebot, nil, "", "", "bot", true},
		{"curl", uaCurl, nil, "", "", "bot", true},
		{"python-requests", uaRequests, nil, "", "", "bot", true},
		{"Go-http-client/1.1", uaGoHTTP, nil, "", "", "bot", true},
		{"Go-http-client/2.0", uaGoHTTP2, nil, "", "", "bot", true},
		{"okhttp", uaOkHTTP, nil, "", "", "bot", true},
		{"Java", uaJava, nil, "", "", "bot", true},
		{"libwww-perl", uaPerl, nil, "", "", "bot", true},
		{"axios", uaAxios, nil, "", "", "bot", true},
		{"node-fetch", uaNodeFetch, nil, "", "", "bot", true},
		{"Scrapy", uaScrapy, nil, "", "", "bot", true},
		{"Wget", uaWget, nil, "", "", "bot", true},
		{"empty UA", "", nil, "", "", "", true},
		{"blank UA", "   ", nil, "", "", "", true},
		{"headless touch UA stays bot", uaHeadlessWin, &engine.DeviceDescriptor{TouchPoints: 5}, "Chrome", "Windows", "bot", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := x.Identify(tc.d, tc.ua)
			want := engine.DeviceInfo{Browser: tc.browser, OS: tc.os, Type: tc.typ, Headless: tc.headless}
			got.ID, got.HasCookie = "", false
			if got != want {
				t.Fatalf("Identify(%q) = %+v, want %+v", tc.ua, got, want)
			}
		})
	}
}

func TestRendererNormalisation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"ANGLE (NVIDIA, NVIDIA GeForce RTX 3070 (0x00002484) Direct3D11 vs_5_0 ps_5_0, D3D11)", "nvidia geforce rtx 3070"},
		{"ANGLE (NVIDIA, NVIDIA GeForce RTX 3070 Direct3D11 vs_5_0 ps_5_0, D3D11-31.0.15.4633)", "nvidia geforce rtx 3070"},
		{"ANGLE (Apple, ANGLE Metal Renderer: Apple M1, Unspecified Version)", "apple m1"},
		{"ANGLE (Apple, Apple M1, OpenGL 4.1)", "apple m1"},
		{"ANGLE (Intel Inc., Intel(R) Iris(TM) Plus Graphics 655, OpenGL 4.1)", "intel iris plus graphics 655"},
		{"ANGLE (Intel Inc., ANGLE Metal Renderer: Intel(R) Iris(TM) Plus Graphics 655, Unspecified Version)", "intel iris plus graphics 655"},
		{"Mesa Intel(R) UHD Graphics 620 (KBL GT2)", "mesa intel uhd graphics 620 kbl gt2"},
		{"llvmpipe (LLVM 15.0.6, 256 bits)", "llvmpipe llvm 256 bits"},
		{"Adreno (TM) 730", "adreno 730"},
		{"ANGLE (Intel(R) UHD Graphics 620 Direct3D11 vs_5_0 ps_5_0)", "intel uhd graphics 620"},
		{"ANGLE (Intel, Intel(R) UHD Graphics 620 (0x00005917) Direct3D11 vs_5_0 ps_5_0, D3D11)", "intel uhd graphics 620"},
		{"GeForce GTX 1080. (rev 1.2.)", "geforce gtx 1080 rev"},
		{"", ""},
		{"\xff\x00 ...", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			b, n := appendRenderer(nil, tc.in)
			if got := string(b[2:]); got != tc.want || n != len(tc.want) || int(b[1]) != n || b[0] != tagRenderer {
				t.Fatalf("appendRenderer(%q) = %q (n=%d), want %q", tc.in, got, n, tc.want)
			}
		})
	}
}

// TestGoldenIDs pins ids for a fixed key: they are stored in the database as
// "known devices", so any change here (feature encoding, normalisation, a UA
// parser upgrade that relabels a browser) makes every user's devices
// unknown. Change the expected values only on purpose.
func TestGoldenIDs(t *testing.T) {
	t.Parallel()
	x := newIdentifier(t, testKey)
	tests := []struct {
		name string
		d    *engine.DeviceDescriptor
		ua   string
		want string
	}{
		{"windows chrome", windowsDesk(), uaChrome131Win, "d_e0c08247e6fcdb4de68fc6bb8fca82a4"},
		{"mac safari", macBook(), uaSafari17Mac, "d_5e861f86315b0ac40bb09f67c27b0e40"},
		{"iphone", iPhone(), uaSafariiOS17, "d_12f3a8e61530b57ee01a60dd68c7cc38"},
		{"android", pixel(), uaAndroid131, "d_3c90b66233dab2f9057f6b4e274d5168"},
		{"cookie", &engine.DeviceDescriptor{CookieID: "3f9a1c7e-2b4d-4e8f"}, "", "d_029790b52185db2e65e548899db42d15"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := x.Identify(tc.d, tc.ua).ID; got != tc.want {
				t.Fatalf("id = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHostileInput(t *testing.T) {
	t.Parallel()
	x := newIdentifier(t, testKey)
	huge := strings.Repeat("\x00\xffA(;/ ", 1<<18)
	d := &engine.DeviceDescriptor{
		CookieID:      huge,
		Platform:      huge,
		Languages:     []string{huge, huge},
		Timezone:      huge,
		ScreenWidth:   math.MaxInt,
		ScreenHeight:  math.MinInt,
		PixelRatio:    math.NaN(),
		DeviceMemory:  math.Inf(-1),
		CanvasHash:    huge,
		WebGLHash:     huge,
		WebGLRenderer: huge,
		TouchPoints:   -1,
	}
	for _, ua := range []string{huge, "Mozilla/5.0 " + huge, "\xff\xfe\xfd", strings.Repeat("Chrome/1.", 10000)} {
		got := x.Identify(d, ua)
		if got.ID != "" && !idFormat.MatchString(got.ID) {
			t.Fatalf("id %q", got.ID)
		}
		if again := x.Identify(d, ua); again != got {
			t.Fatalf("unstable: %+v vs %+v", got, again)
		}
	}
}

func TestAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	x := newIdentifier(t, testKey)
	d := windowsDesk()
	c := &engine.DeviceDescriptor{CookieID: "3f9a1c7e-2b4d-4e8f-9a0b-1c2d3e4f5a6b"}
	tab := pixel()
	for _, tc := range []struct {
		name string
		f    func()
		max  float64
	}{
		{"features", func() { x.Identify(d, uaChrome131Win) }, 1},
		{"cookie", func() { x.Identify(c, uaChrome131Win) }, 1},
		{"no descriptor", func() { x.Identify(nil, uaCurl) }, 0},
		{"no descriptor, browser", func() { x.Identify(nil, uaChrome131Win) }, 0},
		{"headless marker", func() { x.Identify(nil, uaHeadlessWin) }, 0},
		{"android tablet", func() { x.Identify(tab, uaAndroidTab) }, 1},
	} {
		tc.f() // the user agent's labels are cached from now on
		if n := testing.AllocsPerRun(100, tc.f); n > tc.max {
			t.Errorf("%s: %v allocations per Identify, want <= %v", tc.name, n, tc.max)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	x := newIdentifier(t, testKey)
	want := x.Identify(windowsDesk(), uaChrome131Win)
	done := make(chan engine.DeviceInfo)
	for range 8 {
		go func() {
			var got engine.DeviceInfo
			for range 200 {
				got = x.Identify(windowsDesk(), uaChrome131Win)
			}
			done <- got
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("concurrent Identify = %+v, want %+v", got, want)
		}
	}
}
