package authn

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/google/uuid"
	"github.com/riskauth/riskauth/authn/token"
)

// newID is a UUIDv7: time-ordered, so inserts stay local in the
// primary-key index.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// hashHex stores the hex digests the token packages return as raw bytes.
func hashHex(h string) []byte {
	b, err := hex.DecodeString(h)
	if err != nil {
		return []byte(h)
	}
	return b
}

// tokenHash is what the store keeps of a link token.
func tokenHash(tok string) []byte { return hashHex(token.Hash(tok)) }

// sessionHash is what the store keeps of a session token: SHA-256, so a
// database leak does not hand out live sessions.
func sessionHash(tok string) []byte {
	sum := sha256.Sum256([]byte(tok))
	return sum[:]
}

// flowKey is the database id of a flow whose client handle is h: the
// handle is a bearer secret (it carries a verified password), so the
// database holds only its hash.
func flowKey(h string) string { return token.Hash(h) }
