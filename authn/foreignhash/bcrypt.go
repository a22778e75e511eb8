package foreignhash

import (
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// parseBcrypt reads $2a$, $2b$ and $2y$ (the same algorithm; the letters
// mark implementation bugs fixed in other libraries, not in Go's).
func parseBcrypt(s string) (*Hash, error) {
	if !strings.HasPrefix(s, "$2a$") && !strings.HasPrefix(s, "$2b$") && !strings.HasPrefix(s, "$2y$") {
		return nil, errNotMine
	}
	if len(s) != 60 {
		return nil, bad(Bcrypt, "want 60 characters")
	}
	cost, err := bcrypt.Cost([]byte(s))
	if err != nil {
		return nil, bad(Bcrypt, "malformed")
	}
	if cost > maxBcryptCost {
		return nil, bad(Bcrypt, "cost %d over the cap of %d", cost, maxBcryptCost)
	}
	for _, c := range s[7:] {
		if !strings.ContainsRune(bcryptAlphabet, c) {
			return nil, bad(Bcrypt, "not bcrypt's base64")
		}
	}
	hash := []byte(s)
	return &Hash{scheme: Bcrypt, check: func(pw []byte) bool {
		// Other implementations silently used the first 72 bytes; Go's
		// refuses longer passwords, so cut them as the hash was made.
		if len(pw) > 72 {
			pw = pw[:72]
		}
		return bcrypt.CompareHashAndPassword(hash, pw) == nil
	}}, nil
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
