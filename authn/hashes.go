package authn

import (
	"crypto/hmac"
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

// deriveKey is a key for one purpose from the email-code key, so one
// configured secret keys everything and the uses stay independent.
func deriveKey(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// counterKey is the EventCounter key of what parts name (a purpose, then
// a mail kind and an address, or an identifier): a keyed hash, so the
// store never holds an address, and keys cannot be forged without the
// server's secret.
func (s *core) counterKey(parts ...string) []byte {
	m := hmac.New(sha256.New, s.counterMAC)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}
