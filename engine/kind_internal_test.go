package engine

import (
	"regexp"
	"strings"
	"testing"
)

// kindRe is the event kind grammar validKind implements.
var kindRe = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

func TestValidKindMatchesRegexp(t *testing.T) {
	for _, kind := range []string{
		"", "login", "password_reset", "mfa", "a", "custom.kind-2", "Login", "1login", "_x", "log in",
		"login\n", "é", "a" + strings.Repeat("b", 63), "a" + strings.Repeat("b", 64), "x\x00",
	} {
		if got, want := validKind(kind), kindRe.MatchString(kind); got != want {
			t.Errorf("validKind(%q) = %v, regexp says %v", kind, got, want)
		}
	}
}

func FuzzValidKind(f *testing.F) {
	for _, s := range []string{"login", "Login", "a-b.c_d", "", "a\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, kind string) {
		if got, want := validKind(kind), kindRe.MatchString(kind); got != want {
			t.Fatalf("validKind(%q) = %v, regexp says %v", kind, got, want)
		}
	})
}
