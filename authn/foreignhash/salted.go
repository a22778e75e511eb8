package foreignhash

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"strings"
)

// Salted SHA-2 (a home-grown database's sha256(salt ‖ password) or
// sha256(password ‖ salt)): one hash, no work factor. Verified like the
// others, but Weak: a leak of such a table is cracked at billions of
// guesses a second, so the import report flags these users and the
// migration guide recommends a password reset for them.

// SaltedSHA2 builds the stored form $salted-<alg>$pos=<prefix|suffix>$<b64
// salt>$<b64 hash>: alg is sha256 or sha512, saltFirst says where the
// salt goes.
func SaltedSHA2(alg string, salt, hash []byte, saltFirst bool) (string, error) {
	pos := "suffix"
	if saltFirst {
		pos = "prefix"
	}
	s := fmt.Sprintf("$salted-%s$pos=%s$%s$%s", alg, pos, base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(hash))
	if _, err := parseSalted(s); err != nil {
		return "", err
	}
	return s, nil
}

func parseSalted(s string) (*Hash, error) {
	var sum func([]byte) []byte
	switch {
	case strings.HasPrefix(s, "$salted-sha256$"):
		sum = func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
	case strings.HasPrefix(s, "$salted-sha512$"):
		sum = func(b []byte) []byte { h := sha512.Sum512(b); return h[:] }
	default:
		return nil, errNotMine
	}
	f, ok := fields(s, "$", 5)
	if !ok || (f[2] != "pos=prefix" && f[2] != "pos=suffix") {
		return nil, bad(SaltedSHA, "want $salted-<alg>$pos=prefix|suffix$<salt>$<hash>")
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(f[3])
	if err != nil {
		return nil, bad(SaltedSHA, "salt not base64")
	}
	want, err := base64.RawStdEncoding.Strict().DecodeString(f[4])
	if err != nil || len(want) != len(sum(nil)) {
		return nil, bad(SaltedSHA, "hash not base64 of the digest's length")
	}
	prefix := f[2] == "pos=prefix"
	return &Hash{scheme: SaltedSHA, weak: true, want: want, derive: func(pw []byte) ([]byte, error) {
		if prefix {
			return sum(append(append([]byte{}, salt...), pw...)), nil
		}
		return sum(append(append([]byte{}, pw...), salt...)), nil
	}}, nil
}
