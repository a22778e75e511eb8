package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// KeySize is the required key length: AES-256.
	KeySize = 32
	// MaxKeyIDLen bounds key ids; they are stored in every sealed value.
	MaxKeyIDLen = 32
	// maxSealedLen bounds what Open accepts; sealed values are secrets of
	// a few dozen bytes, not documents.
	maxSealedLen = 64 << 10
	version      = "v1"
	nonceSize    = 12
	tagSize      = 16
)

// Errors returned by Open. Callers branch on them: ErrUnknownKey after a
// key was removed too early, ErrDecrypt when data was tampered with or
// moved (wrong associated data).
var (
	// ErrMalformed reports a value that is not a sealed value at all.
	ErrMalformed = errors.New("seal: malformed sealed value")
	// ErrUnsupportedVersion reports a format version this code does not
	// know.
	ErrUnsupportedVersion = errors.New("seal: unsupported version")
	// ErrUnknownKey reports a key id that is not configured.
	ErrUnknownKey = errors.New("seal: unknown key id")
	// ErrDecrypt reports a failed authentication: wrong key material,
	// wrong associated data, or tampering.
	ErrDecrypt = errors.New("seal: decryption failed")
)

// Sealer seals with the active key and opens with any configured key. It
// is safe for concurrent use.
type Sealer struct {
	aeads  map[string]cipher.AEAD
	active string
}

// New returns a Sealer for keys (id → 32-byte key) that seals with
// activeKeyID. Key ids are 1 to 32 characters of [A-Za-z0-9_.-]. The key
// bytes are used at once (copied into the AES key schedule), so the caller
// may clear its map afterwards.
func New(keys map[string][]byte, activeKeyID string) (*Sealer, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: no keys")
	}
	s := &Sealer{aeads: make(map[string]cipher.AEAD, len(keys)), active: activeKeyID}
	for id, key := range keys {
		if err := checkKeyID(id); err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("seal: key %q is %d bytes, want %d", id, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("seal: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("seal: key %q: %w", id, err)
		}
		s.aeads[id] = aead
	}
	if _, ok := s.aeads[activeKeyID]; !ok {
		return nil, fmt.Errorf("seal: active key %q is not among the configured keys", activeKeyID)
	}
	return s, nil
}

func checkKeyID(id string) error {
	if id == "" || len(id) > MaxKeyIDLen {
		return fmt.Errorf("key id must be 1 to %d characters, got %d", MaxKeyIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			// The id is not quoted: a key pasted where an id belongs would
			// otherwise end up in the error.
			return fmt.Errorf("key id: character %d is not one of [A-Za-z0-9_.-]", i+1)
		}
	}
	return nil
}

// ActiveKeyID returns the id new values are sealed with.
func (s *Sealer) ActiveKeyID() string { return s.active }

// Seal encrypts plaintext under the active key, authenticating
// associatedData (which is not stored: Open needs the same value).
func (s *Sealer) Seal(plaintext, associatedData []byte) ([]byte, error) {
	aead := s.aeads[s.active]
	header := []byte(version + ":" + s.active + ":")
	out := make([]byte, len(header), len(header)+nonceSize+len(plaintext)+tagSize)
	copy(out, header)
	nonce := out[len(header) : len(header)+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: read nonce: %w", err)
	}
	out = out[:len(header)+nonceSize]
	return aead.Seal(out, nonce, plaintext, aad(header, associatedData)), nil
}

// Open decrypts a value made by Seal with any configured key, checking
// associatedData.
func (s *Sealer) Open(sealed, associatedData []byte) ([]byte, error) {
	id, header, body, err := split(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := s.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, id)
	}
	if len(body) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: %d bytes after the header, want at least %d", ErrMalformed, len(body), nonceSize+tagSize)
	}
	pt, err := aead.Open(nil, body[:nonceSize], body[nonceSize:], aad(header, associatedData))
	if err != nil {
		return nil, fmt.Errorf("%w (key %q)", ErrDecrypt, id)
	}
	return pt, nil
}

// KeyID returns the id of the key that sealed a value, without opening it.
func KeyID(sealed []byte) (string, error) {
	id, _, _, err := split(sealed)
	return id, err
}

// NeedsReseal reports whether sealed was made with a key other than the
// active one, so a caller holding the plaintext can reseal it after a key
// rotation. Malformed values report false: Open will report them.
func (s *Sealer) NeedsReseal(sealed []byte) bool {
	id, err := KeyID(sealed)
	return err == nil && id != s.active
}

func split(sealed []byte) (id string, header, body []byte, err error) {
	if len(sealed) > maxSealedLen {
		return "", nil, nil, fmt.Errorf("%w: %d bytes, more than %d", ErrMalformed, len(sealed), maxSealedLen)
	}
	ver, rest, ok := bytes.Cut(sealed, []byte(":"))
	if !ok {
		return "", nil, nil, fmt.Errorf("%w: no version prefix", ErrMalformed)
	}
	if string(ver) != version {
		if len(ver) > 8 {
			ver = ver[:8]
		}
		return "", nil, nil, fmt.Errorf("%w %q", ErrUnsupportedVersion, ver)
	}
	// Key ids contain no ':', so the first one after the version ends it.
	rawID, body, ok := bytes.Cut(rest, []byte(":"))
	if !ok {
		return "", nil, nil, fmt.Errorf("%w: no key id", ErrMalformed)
	}
	id = string(rawID)
	if err := checkKeyID(id); err != nil {
		return "", nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return id, sealed[:len(sealed)-len(body)], body, nil
}

// aad authenticates the header (so a value cannot be relabelled with
// another version or key id) with the caller's data. The header is
// self-delimiting, so the concatenation is unambiguous.
func aad(header, associatedData []byte) []byte {
	out := make([]byte, 0, len(header)+len(associatedData))
	return append(append(out, header...), associatedData...)
}

// AssociatedData encodes the owner of a sealed value — user id and factor
// id — unambiguously: each part is length-prefixed, so ("ab", "c") and
// ("a", "bc") differ.
func AssociatedData(userID, factorID string) []byte {
	out := make([]byte, 0, 2*binary.MaxVarintLen64+len(userID)+len(factorID))
	for _, p := range [2]string{userID, factorID} {
		out = binary.AppendUvarint(out, uint64(len(p)))
		out = append(out, p...)
	}
	return out
}
