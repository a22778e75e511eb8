package foreignhash_test

import (
	"strings"
	"testing"

	"github.com/riskauth/riskauth/authn/foreignhash"
)

// fuzzParse checks what Parse promises for any input: no panic, an error
// or a Hash of a known scheme, never a recognised string reported as
// unknown and parsed at once. Verification runs only for the cheap salted
// scheme (the others' cost is bounded by the caps, not cheap).
func fuzzParse(t *testing.T, s string) {
	h, err := foreignhash.Parse(s)
	if err != nil {
		if h != nil {
			t.Fatalf("a hash and an error for %q", s)
		}
		return
	}
	if h.Scheme() == "" {
		t.Fatalf("no scheme for %q", s)
	}
	if h.Scheme() == foreignhash.SaltedSHA {
		_ = h.Verify("password")
	}
	if !foreignhash.Is(s) {
		t.Fatalf("parsed but not recognised: %q", s)
	}
}

func seed(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.stored)
	}
	for _, s := range []string{"$firebase-scrypt$ln=14,r=8$42xEC+ixf3L2lw$Bw$jxspr8Ki$lSrfV15c", "$salted-sha512$pos=suffix$c2FsdA$", "$pbkdf2-sha512$i=1000,l=64$c2FsdA$AAAA", ""} {
		f.Add(s)
	}
}

func FuzzParse(f *testing.F) {
	seed(f)
	f.Fuzz(fuzzParse)
}

// One target per format: the fuzzer's input follows the format's prefix,
// so each parser is explored past its first check.
func fuzzFormat(f *testing.F, prefix string) {
	for _, v := range vectors {
		if s, ok := strings.CutPrefix(v.stored, prefix); ok {
			f.Add(s)
		}
	}
	f.Add("")
	f.Add("ln=14,r=8$AAAA$AA$AAAA$AAAA")
	f.Fuzz(func(t *testing.T, rest string) { fuzzParse(t, prefix+rest) })
}

func FuzzParseBcrypt(f *testing.F)   { fuzzFormat(f, "$2b$") }
func FuzzParseDjango(f *testing.F)   { fuzzFormat(f, "pbkdf2_sha256$") }
func FuzzParsePBKDF2(f *testing.F)   { fuzzFormat(f, "$pbkdf2-sha256$") }
func FuzzParseScrypt(f *testing.F)   { fuzzFormat(f, "$scrypt$") }
func FuzzParseFirebase(f *testing.F) { fuzzFormat(f, "$firebase-scrypt$") }
func FuzzParseArgon2(f *testing.F)   { fuzzFormat(f, "$argon2id$v=19$") }
func FuzzParseSalted(f *testing.F)   { fuzzFormat(f, "$salted-sha256$") }
