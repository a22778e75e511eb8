package ja4_test

import (
	"crypto/sha256"
	"encoding/hex"
)

// sha12 is the spec's truncated hash, written out again for the tests.
func sha12(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}
