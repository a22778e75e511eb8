package oidc

import (
	"strings"
	"testing"

	"github.com/zitadel/oidc/v3/pkg/op"
)

// FuzzNormalizeUserCode: whatever a user types, the result is "" or a
// user code of the alphabet and length, and normalising it again changes
// nothing.
func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdf ghjk", "BCDFGHJK", "", "AEIOU-1234", "BCDF-GHJK-", strings.Repeat("B", 100), "ßcdf-ghjk"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := normalizeUserCode(in)
		if out == "" {
			return
		}
		if len(out) != op.UserCodeBase20.CharAmount || strings.Trim(out, op.CharSetBase20) != "" {
			t.Fatalf("%q -> %q: not a user code", in, out)
		}
		if again := normalizeUserCode(out); again != out {
			t.Fatalf("%q -> %q -> %q", in, out, again)
		}
	})
}

func TestNormalizeUserCode(t *testing.T) {
	for in, want := range map[string]string{"BCDF-GHJK": "BCDFGHJK", "bcdf ghjk": "BCDFGHJK", "BCDF-GHJ": "", "ACDF-GHJK": "", "BCDF-GHJK1": ""} {
		if got := normalizeUserCode(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}
