package engine

import (
	"strings"
	"testing"
)

// FuzzDeviceTraits: the JA4 and the device description come from the
// client (through the edge and the risk API). Digesting them never panics,
// ignores case and surrounding spaces, and only an empty value is absent;
// the JA4 stack is one of the known ones or empty.
func FuzzDeviceTraits(f *testing.F) {
	for _, s := range []string{"t13d1516h2_8daaf6152771_d8a2da3f94cd", "t13d1717h2_5b57614c22b0_3cbfd9057e0d", "_", "x_8daaf615277", "", " Win32 ", "\xff\x00_"} {
		f.Add(s, "Europe/Berlin", "de-DE")
	}
	f.Fuzz(func(t *testing.T, ja4, zone, lang string) {
		ev := &Event{JA4: ja4, Device: &DeviceDescriptor{Platform: ja4, Timezone: zone, Languages: []string{lang, zone}, ScreenWidth: len(ja4), ScreenHeight: len(zone)}}
		tr := traitsOf(ev)
		if (tr.JA4 == 0) != (strings.TrimSpace(ja4) == "") {
			t.Fatalf("JA4 %q digested to %d", ja4, tr.JA4)
		}
		up := &Event{JA4: " " + strings.ToUpper(ja4) + "\t", Device: &DeviceDescriptor{Platform: strings.ToUpper(ja4), Timezone: zone,
			Languages: []string{lang, zone}, ScreenWidth: len(zone), ScreenHeight: len(ja4)}}
		if isASCII(ja4) { // the digests fold ASCII case only
			if u := traitsOf(up); u.JA4 != tr.JA4 || u.Platform != tr.Platform || u.Screen != tr.Screen {
				t.Fatalf("case, spaces or a rotated screen changed the digests: %+v, %+v", tr, u)
			}
		}
		switch s := ja4Stack(ja4); s {
		case "", stackChromium, stackFirefox, stackSafari:
		default:
			t.Fatalf("ja4Stack(%q) = %q", ja4, s)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
