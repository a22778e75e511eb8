package foreignhash

import (
	"encoding/base64"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// parseArgon2 reads PHC $argon2i$ and $argon2id$ strings of any
// parameters within the caps (version 19 only: x/crypto/argon2 has no
// other). authn verifies its own argon2id hashes natively; this is for
// imported ones its stricter parser refuses (other salt or key lengths,
// argon2i).
func parseArgon2(s string) (*Hash, error) {
	var id bool
	switch {
	case strings.HasPrefix(s, "$argon2id$"):
		id = true
	case strings.HasPrefix(s, "$argon2i$"):
	default:
		return nil, errNotMine
	}
	f, ok := fields(s, "$", 6)
	if !ok || f[2] != "v=19" {
		return nil, bad(Argon2, "want $argon2i(d)$v=19$m=,t=,p=$<salt>$<hash>")
	}
	var m, t, p int
	seen := map[string]bool{}
	for _, kv := range strings.Split(f[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		x, err := strconv.Atoi(v)
		if err != nil || x < 1 || seen[k] {
			return nil, bad(Argon2, "parameter %q invalid", k)
		}
		seen[k] = true
		switch k {
		case "m":
			m = x
		case "t":
			t = x
		case "p":
			p = x
		default:
			return nil, bad(Argon2, "unknown parameter %q", k)
		}
	}
	switch {
	case m == 0 || t == 0 || p == 0:
		return nil, bad(Argon2, "want m, t and p")
	case m > maxArgon2Memory || t > maxArgon2Time || p > maxArgon2Lanes || m < 8*p:
		return nil, bad(Argon2, "parameters outside the caps")
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(f[4])
	if err != nil || len(salt) < 8 {
		return nil, bad(Argon2, "salt not base64 of at least 8 bytes")
	}
	want, err := base64.RawStdEncoding.Strict().DecodeString(f[5])
	if err != nil || len(want) < 4 || len(want) > 128 {
		return nil, bad(Argon2, "hash not base64 of 4..128 bytes")
	}
	kdf := argon2.Key
	if id {
		kdf = argon2.IDKey
	}
	return &Hash{scheme: Argon2, want: want, derive: func(pw []byte) ([]byte, error) {
		return kdf(pw, salt, uint32(t), uint32(m), uint8(p), uint32(len(want))), nil
	}}, nil
}
