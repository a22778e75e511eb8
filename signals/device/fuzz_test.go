package device

import (
	"strings"
	"testing"

	"github.com/riskauth/riskauth/engine"
)

func FuzzIdentify(f *testing.F) {
	x := newIdentifier(f, testKey)
	seeds := []struct {
		ua string
		d  *engine.DeviceDescriptor
	}{
		{uaChrome131Win, windowsDesk()},
		{uaSafari17Mac, macBook()},
		{uaSafariiOS17, iPhone()},
		{uaAndroid131, pixel()},
		{uaCurl, &engine.DeviceDescriptor{CookieID: "3f9a1c7e-2b4d-4e8f"}},
		{"", &engine.DeviceDescriptor{}},
		{"\xff\x00Mozilla/5.0 (", &engine.DeviceDescriptor{Timezone: "Asia/Calcutta", Languages: []string{"en_US"}, TouchPoints: 5}},
	}
	for _, s := range seeds {
		d := s.d
		lang1, lang2 := "", ""
		if len(d.Languages) > 0 {
			lang1 = d.Languages[0]
		}
		if len(d.Languages) > 1 {
			lang2 = d.Languages[1]
		}
		f.Add(s.ua, d.CookieID, d.Platform, lang1, lang2, d.Timezone, d.CanvasHash, d.WebGLHash, d.WebGLRenderer,
			d.ScreenWidth, d.ScreenHeight, d.ColorDepth, d.PixelRatio, d.HardwareConcurrency, d.DeviceMemory, d.TouchPoints)
	}
	f.Fuzz(func(t *testing.T, ua, cookie, platform, lang1, lang2, tz, canvas, webgl, renderer string,
		sw, sh, cd int, pr float64, hc int, mem float64, touch int) {
		d := &engine.DeviceDescriptor{
			CookieID: cookie, Platform: platform, Languages: []string{lang1, lang2}, Timezone: tz,
			ScreenWidth: sw, ScreenHeight: sh, ColorDepth: cd, PixelRatio: pr,
			HardwareConcurrency: hc, DeviceMemory: mem, TouchPoints: touch,
			CanvasHash: canvas, WebGLHash: webgl, WebGLRenderer: renderer,
		}
		got := x.Identify(d, ua)
		if again := x.Identify(d, ua); again != got {
			t.Fatalf("not deterministic: %+v then %+v", got, again)
		}
		if got.ID != "" && !idFormat.MatchString(got.ID) {
			t.Fatalf("id %q does not match %s", got.ID, idFormat)
		}
		if got.HasCookie && got.ID == "" {
			t.Fatalf("HasCookie without id: %+v", got)
		}
		switch got.Type {
		case "", "desktop", "mobile", "tablet", "tv", "bot":
		default:
			t.Fatalf("unexpected type %q", got.Type)
		}
		if got.Type == "bot" && !got.Headless {
			t.Fatalf("bot not flagged headless: %+v", got)
		}
		if strings.TrimSpace(ua) == "" && !got.Headless {
			t.Fatalf("empty user agent not flagged: %+v", got)
		}
		// The user agent beyond MaxUserAgentLen is ignored.
		if len(ua) > MaxUserAgentLen {
			if cut := x.Identify(d, ua[:MaxUserAgentLen]); cut != got {
				t.Fatalf("bytes past MaxUserAgentLen changed the result: %+v vs %+v", got, cut)
			}
		}
		// Without a descriptor there is never an id.
		if nd := x.Identify(nil, ua); nd.ID != "" || nd.HasCookie {
			t.Fatalf("id without descriptor: %+v", nd)
		}
	})
}
