package foreignhash

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// scryptParams reads "ln=16,r=8,p=1" (passlib) and checks the memory cap.
func scryptParams(s Scheme, list string, needP bool) (n, r, p int, err error) {
	p = 1
	seen := map[string]bool{}
	for _, kv := range strings.Split(list, ",") {
		k, v, _ := strings.Cut(kv, "=")
		x, perr := strconv.Atoi(v)
		if perr != nil || x < 1 || seen[k] {
			return 0, 0, 0, bad(s, "parameter %q invalid", k)
		}
		seen[k] = true
		switch k {
		case "ln":
			if x > 24 {
				return 0, 0, 0, bad(s, "ln %d too large", x)
			}
			n = 1 << x
		case "r":
			r = x
		case "p":
			p = x
		default:
			return 0, 0, 0, bad(s, "unknown parameter %q", k)
		}
	}
	switch {
	case n < 2 || r < 1 || needP && !seen["p"]:
		return 0, 0, 0, bad(s, "want ln, r and p")
	case r > 64 || p > 16 || 128*r*n > maxScryptMemory:
		return 0, 0, 0, bad(s, "ln/r/p over the cap (%d MiB)", maxScryptMemory>>20)
	}
	return n, r, p, nil
}

// parseScrypt reads passlib's $scrypt$ln=<log2 N>,r=<r>,p=<p>$<ab64
// salt>$<ab64 hash>.
func parseScrypt(s string) (*Hash, error) {
	if !strings.HasPrefix(s, "$scrypt$") {
		return nil, errNotMine
	}
	f, ok := fields(s, "$", 5)
	if !ok {
		return nil, bad(Scrypt, "want $scrypt$<params>$<salt>$<hash>")
	}
	n, r, p, err := scryptParams(Scrypt, f[2], true)
	if err != nil {
		return nil, err
	}
	salt, err := ab64(f[3])
	if err != nil {
		return nil, bad(Scrypt, "salt not base64")
	}
	want, err := ab64(f[4])
	if err != nil || len(want) < 16 || len(want) > 128 {
		return nil, bad(Scrypt, "hash not base64 of 16..128 bytes")
	}
	return &Hash{scheme: Scrypt, want: want, derive: func(pw []byte) ([]byte, error) {
		return scrypt.Key(pw, salt, n, r, p, len(want))
	}}, nil
}

// FirebaseParams are a Firebase project's password hash parameters
// (console: Authentication, Users, "Password hash parameters").
type FirebaseParams struct {
	SignerKey     string // base64_signer_key
	SaltSeparator string // base64_salt_separator
	Rounds        int    // rounds (r)
	MemCost       int    // mem_cost (log2 N)
}

// Firebase builds the stored form of a user exported from Firebase
// (passwordHash and salt, standard base64) under the project's
// parameters: $firebase-scrypt$ln=<mem_cost>,r=<rounds>$<salt>$<salt
// separator>$<signer key>$<hash>, every field unpadded base64.
func Firebase(p FirebaseParams, saltB64, hashB64 string) (string, error) {
	dec := func(name, v string) (string, error) {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "", bad(FirebaseScrypt, "%s not base64", name)
		}
		return base64.RawStdEncoding.EncodeToString(b), nil
	}
	var parts [4]string
	for i, x := range []struct{ name, v string }{{"salt", saltB64}, {"salt separator", p.SaltSeparator}, {"signer key", p.SignerKey}, {"password hash", hashB64}} {
		var err error
		if parts[i], err = dec(x.name, x.v); err != nil {
			return "", err
		}
	}
	s := fmt.Sprintf("$firebase-scrypt$ln=%d,r=%d$%s$%s$%s$%s", p.MemCost, p.Rounds, parts[0], parts[1], parts[2], parts[3])
	if _, err := parseFirebase(s); err != nil {
		return "", err
	}
	return s, nil
}

// parseFirebase reads the stored form Firebase builds. Firebase's
// modified scrypt: the key derived by scrypt(password, salt ‖ salt
// separator, N = 2^mem_cost, r = rounds, p = 1, 32 bytes) encrypts the
// project's signer key with AES-256-CTR (zero IV); the result is the
// stored hash.
func parseFirebase(s string) (*Hash, error) {
	if !strings.HasPrefix(s, "$firebase-scrypt$") {
		return nil, errNotMine
	}
	f, ok := fields(s, "$", 7)
	if !ok {
		return nil, bad(FirebaseScrypt, "want $firebase-scrypt$<params>$<salt>$<separator>$<signer key>$<hash>")
	}
	n, r, _, err := scryptParams(FirebaseScrypt, f[2], false)
	if err != nil {
		return nil, err
	}
	var b [4][]byte
	for i := range b {
		if b[i], err = base64.RawStdEncoding.Strict().DecodeString(f[3+i]); err != nil {
			return nil, bad(FirebaseScrypt, "field %d not base64", 4+i)
		}
	}
	salt := append(append([]byte{}, b[0]...), b[1]...)
	signer, want := b[2], b[3]
	if len(signer) == 0 || len(signer) != len(want) {
		return nil, bad(FirebaseScrypt, "signer key and hash differ in length")
	}
	return &Hash{scheme: FirebaseScrypt, want: want, derive: func(pw []byte) ([]byte, error) {
		key, err := scrypt.Key(pw, salt, n, r, 1, 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		out := make([]byte, len(signer))
		cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(out, signer)
		return out, nil
	}}, nil
}
