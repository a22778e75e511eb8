package foreignhash

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/pbkdf2"
)

// prfs are the PBKDF2 pseudo-random functions by the names the formats
// use.
var prfs = map[string]func() hash.Hash{"sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}

func pbkdf2Hash(s Scheme, prf func() hash.Hash, rounds int, salt, want []byte) (*Hash, error) {
	switch {
	case rounds < 1 || rounds > maxPBKDF2Rounds:
		return nil, bad(s, "rounds %d outside 1..%d", rounds, maxPBKDF2Rounds)
	case len(want) < 16 || len(want) > 128:
		return nil, bad(s, "derived key of %d bytes (want 16..128)", len(want))
	}
	return &Hash{scheme: s, want: want, derive: func(pw []byte) ([]byte, error) {
		return pbkdf2.Key(pw, salt, rounds, len(want), prf), nil
	}}, nil
}

// parseDjango reads Django's pbkdf2_sha256$<rounds>$<salt>$<base64> and
// pbkdf2_sha1$...: the salt is used as its own bytes, the hash is
// padded standard base64.
func parseDjango(s string) (*Hash, error) {
	alg, _, _ := strings.Cut(s, "$")
	if alg != "pbkdf2_sha256" && alg != "pbkdf2_sha1" {
		return nil, errNotMine
	}
	f, ok := fields(s, "$", 4)
	if !ok {
		return nil, bad(DjangoPBKDF2, "want algorithm$rounds$salt$hash")
	}
	rounds, err := strconv.Atoi(f[1])
	if err != nil {
		return nil, bad(DjangoPBKDF2, "rounds not a number")
	}
	if f[2] == "" {
		return nil, bad(DjangoPBKDF2, "empty salt")
	}
	want, err := base64.StdEncoding.Strict().DecodeString(f[3])
	if err != nil {
		return nil, bad(DjangoPBKDF2, "hash not base64")
	}
	return pbkdf2Hash(DjangoPBKDF2, prfs[strings.TrimPrefix(alg, "pbkdf2_")], rounds, []byte(f[2]), want)
}

// parsePBKDF2 reads passlib's $pbkdf2-sha256$<rounds>$<ab64 salt>$<ab64
// hash> (and $pbkdf2$ for SHA-1, $pbkdf2-sha512$), and the PHC form
// $pbkdf2-sha256$i=<rounds>,l=<length>$<b64 salt>$<b64 hash> that
// Keycloak credentials are converted to.
func parsePBKDF2(s string) (*Hash, error) {
	var prf string
	switch {
	case strings.HasPrefix(s, "$pbkdf2$"):
		prf = "sha1"
	case strings.HasPrefix(s, "$pbkdf2-sha1$"):
		prf = "sha1"
	case strings.HasPrefix(s, "$pbkdf2-sha256$"):
		prf = "sha256"
	case strings.HasPrefix(s, "$pbkdf2-sha512$"):
		prf = "sha512"
	default:
		return nil, errNotMine
	}
	f, ok := fields(s, "$", 5)
	if !ok || f[0] != "" {
		return nil, bad(PBKDF2, "want $pbkdf2-<prf>$<rounds>$<salt>$<hash>")
	}
	var (
		rounds     int
		salt, want []byte
		err        error
	)
	if strings.HasPrefix(f[2], "i=") {
		// PHC: i=<rounds>[,l=<length>], unpadded standard base64.
		for _, kv := range strings.Split(f[2], ",") {
			k, v, _ := strings.Cut(kv, "=")
			n, perr := strconv.Atoi(v)
			if perr != nil {
				return nil, bad(PBKDF2, "parameter %q not a number", k)
			}
			switch k {
			case "i":
				rounds = n
			case "l":
			default:
				return nil, bad(PBKDF2, "unknown parameter %q", k)
			}
		}
		salt, err = base64.RawStdEncoding.Strict().DecodeString(f[3])
		if err == nil {
			want, err = base64.RawStdEncoding.Strict().DecodeString(f[4])
		}
	} else {
		rounds, err = strconv.Atoi(f[2])
		if err != nil {
			return nil, bad(PBKDF2, "rounds not a number")
		}
		salt, err = ab64(f[3])
		if err == nil {
			want, err = ab64(f[4])
		}
	}
	if err != nil {
		return nil, bad(PBKDF2, "salt or hash not base64")
	}
	return pbkdf2Hash(PBKDF2, prfs[prf], rounds, salt, want)
}

// ab64 decodes passlib's "adapted base64": standard base64 with "." for
// "+" and no padding.
func ab64(s string) ([]byte, error) {
	return base64.RawStdEncoding.Strict().DecodeString(strings.ReplaceAll(s, ".", "+"))
}

// Keycloak converts a Keycloak password credential (secretData's value and
// salt, standard base64; credentialData's algorithm and hashIterations)
// into the stored PHC form. Algorithms: pbkdf2 (SHA-1), pbkdf2-sha256,
// pbkdf2-sha512.
func Keycloak(algorithm string, iterations int, saltB64, valueB64 string) (string, error) {
	prf := map[string]string{"pbkdf2": "sha1", "pbkdf2-sha256": "sha256", "pbkdf2-sha512": "sha512"}[algorithm]
	if prf == "" {
		return "", bad(PBKDF2, "Keycloak algorithm %q (want pbkdf2, pbkdf2-sha256 or pbkdf2-sha512)", algorithm)
	}
	salt, err := base64.StdEncoding.DecodeString(saltB64)
	if err != nil {
		return "", bad(PBKDF2, "Keycloak salt not base64")
	}
	value, err := base64.StdEncoding.DecodeString(valueB64)
	if err != nil {
		return "", bad(PBKDF2, "Keycloak value not base64")
	}
	s := fmt.Sprintf("$pbkdf2-%s$i=%d,l=%d$%s$%s", prf, iterations, len(value),
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(value))
	if _, err := parsePBKDF2(s); err != nil {
		return "", err
	}
	return s, nil
}
