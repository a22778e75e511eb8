// Package passkeytest is a software WebAuthn authenticator for tests: it
// answers the options of navigator.credentials.create and .get as a
// browser with a platform authenticator would, with knobs to produce the
// answers a relying party must refuse (another origin, another RP id, a
// counter that went backwards). It is not for production: its keys live
// in memory, unprotected.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// Flags of authenticator data (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// Credential is one passkey the authenticator holds.
type Credential struct {
	ID         []byte
	RPID       string
	UserHandle []byte
	Key        *ecdsa.PrivateKey
	// Counter is the signature counter; Get adds one before signing
	// unless Synced (synced passkeys keep 0).
	Counter uint32
}

// Authenticator holds passkeys and answers ceremonies. The zero value
// is not usable: New.
type Authenticator struct {
	// Origin is the origin the "browser" reports in client data.
	Origin string
	// RPID overrides the RP id hashed into authenticator data ("": the
	// one the options name).
	RPID string
	// Synced makes new passkeys backup eligible and backed up, with no
	// counter, as a platform's synced passkeys are.
	Synced bool
	// NoUV clears the user-verified flag (an authenticator without a PIN).
	NoUV bool

	mu    sync.Mutex
	creds []*Credential
}

// New returns an authenticator that reports origin.
func New(origin string) *Authenticator { return &Authenticator{Origin: origin} }

var b64 = base64.RawURLEncoding

type creationOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"`
		Allow     []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
	} `json:"publicKey"`
}

func (a *Authenticator) rpID(fromOptions string) string {
	if a.RPID != "" {
		return a.RPID
	}
	return fromOptions
}

func (a *Authenticator) flags() byte {
	f := byte(flagUP)
	if !a.NoUV {
		f |= flagUV
	}
	if a.Synced {
		f |= flagBE | flagBS
	}
	return f
}

func (a *Authenticator) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return b
}

// Create answers navigator.credentials.create options with a new
// passkey and returns the PublicKeyCredential as JSON.
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: options: %w", err)
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: user id: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 32)
	_, _ = rand.Read(id)
	rp := a.rpID(o.PublicKey.RP.ID)
	c := &Credential{ID: id, RPID: o.PublicKey.RP.ID, UserHandle: handle, Key: key}
	if !a.Synced {
		c.Counter = 1
	}
	pub, err := key.PublicKey.Bytes() // 0x04 ‖ X ‖ Y, 32 bytes each for P-256
	if err != nil {
		return nil, err
	}
	x, y := pub[1:33], pub[33:65]
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		return nil, err
	}
	auth := authData(rp, a.flags()|flagAT, c.Counter)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(id)))
	auth = append(auth, id...)
	auth = append(auth, cose...)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.creds = append(a.creds, c)
	a.mu.Unlock()
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{"credProps": map[string]any{"rk": true}},
	})
}

func authData(rpID string, flags byte, counter uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, counter)
}

// ErrNoCredential: the authenticator holds no passkey the options allow.
var ErrNoCredential = errors.New("passkeytest: no matching credential")

// Get answers navigator.credentials.get options with the newest passkey
// they allow (any of the RP's for a discoverable request) and returns the
// PublicKeyCredential as JSON.
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: options: %w", err)
	}
	a.mu.Lock()
	var c *Credential
	for i := len(a.creds) - 1; i >= 0 && c == nil; i-- {
		cand := a.creds[i]
		if cand.RPID != o.PublicKey.RPID {
			continue
		}
		if len(o.PublicKey.Allow) == 0 {
			c = cand
		}
		for _, al := range o.PublicKey.Allow {
			if al.ID == b64.EncodeToString(cand.ID) {
				c = cand
			}
		}
	}
	if c != nil && !a.Synced {
		c.Counter++
	}
	var counter uint32
	if c != nil {
		counter = c.Counter
	}
	a.mu.Unlock()
	if c == nil {
		return nil, ErrNoCredential
	}
	return a.sign(c, a.rpID(o.PublicKey.RPID), o.PublicKey.Challenge, counter)
}

func (a *Authenticator) sign(c *Credential, rpID, challenge string, counter uint32) ([]byte, error) {
	auth := authData(rpID, a.flags(), counter)
	cd := a.clientData("webauthn.get", challenge)
	h := sha256.Sum256(cd)
	// ES256 signs the SHA-256 digest of authData || SHA-256(clientDataJSON).
	digest := sha256.Sum256(append(append([]byte(nil), auth...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.Key, digest[:])
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(c.ID), "rawId": b64.EncodeToString(c.ID), "type": "public-key", "authenticatorAttachment": "platform",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(auth),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.UserHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
}

// SetCounter sets the counter of every passkey held (to make the next
// assertion's counter go backwards, as a cloned authenticator's would).
func (a *Authenticator) SetCounter(n uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		c.Counter = n
	}
}

// Credentials returns the passkeys held, oldest first.
func (a *Authenticator) Credentials() []*Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*Credential(nil), a.creds...)
}

// Clone returns an authenticator holding the same passkeys (their
// counters shared) with the same settings, to change one of them (a
// phishing page's origin) without touching a.
func (a *Authenticator) Clone() *Authenticator {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &Authenticator{Origin: a.Origin, RPID: a.RPID, Synced: a.Synced, NoUV: a.NoUV, creds: append([]*Credential(nil), a.creds...)}
}
