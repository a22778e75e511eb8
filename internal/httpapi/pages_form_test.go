package httpapi

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeReturn: whatever return_to holds, the redirect target is
// /account, a path a browser resolves on this origin, or a URL on an
// allowed origin.
func FuzzSafeReturn(f *testing.F) {
	s := &Server{origins: map[string]bool{"https://auth.example.com": true, "https://app.example.com": true}}
	for _, seed := range []string{"/account", "//evil.example", "/\\evil", "https://app.example.com/x", "https://evil.example",
		"/%2F/evil", "https:app.example.com", "\x00/", "/ok?next=//evil", "HTTPS://APP.EXAMPLE.COM/", "/\t/evil"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := s.safeReturn(raw)
		if got == defaultReturn {
			return
		}
		if got != raw {
			t.Fatalf("safeReturn(%q) = %q: neither the input nor the default", raw, got)
		}
		// How a browser resolves it against the public origin.
		base, _ := url.Parse("https://auth.example.com/login")
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%q accepted but does not parse: %v", got, err)
		}
		u := base.ResolveReference(ref)
		if !s.origins[u.Scheme+"://"+u.Host] {
			t.Fatalf("%q leads to %s", got, u.Scheme+"://"+u.Host)
		}
		if strings.HasPrefix(got, "/") && (strings.HasPrefix(got, "//") || strings.ContainsAny(got, "\\\t\r\n")) {
			t.Fatalf("%q accepted", got)
		}
	})
}
