package device

import (
	"testing"

	useragent "github.com/medama-io/go-useragent"

	"github.com/riskauth/riskauth/engine"
)

func BenchmarkIdentify(b *testing.B) {
	x := newIdentifier(b, testKey)
	cases := []struct {
		name string
		d    *engine.DeviceDescriptor
		ua   string
	}{
		{"features", windowsDesk(), uaChrome131Win},
		{"features/mobile", pixel(), uaAndroid131},
		{"cookie", with(windowsDesk(), func(d *engine.DeviceDescriptor) { d.CookieID = "3f9a1c7e-2b4d-4e8f-9a0b-1c2d3e4f5a6b" }), uaChrome131Win},
		{"no-descriptor", nil, uaChrome131Win},
		{"curl", nil, uaCurl},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = x.Identify(c.d, c.ua)
			}
		})
	}
}

// BenchmarkParseUA is the UA parser alone, without ualabel's cache, for
// comparison: what every Identify paid before the cache.
func BenchmarkParseUA(b *testing.B) {
	p := useragent.NewParser()
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Parse(uaChrome131Win)
	}
}
