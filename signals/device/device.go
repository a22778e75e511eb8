package device

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/signals/device/ualabel"
)

// MinKeyLen is the shortest secret key New accepts, in bytes. 32 random
// bytes are recommended.
const MinKeyLen = 16

// MaxUserAgentLen is how many bytes of a user agent are looked at; the rest
// is ignored so that parsing cost is bounded whatever a client sends.
const MaxUserAgentLen = 512

// IDPrefix starts every device id: "d_" followed by 32 lower-case hex digits
// (128 bits of a keyed SHA-256).
const IDPrefix = "d_"

// IDLen is the length of every non-empty device id.
const IDLen = len(IDPrefix) + 32

// ErrKeyTooShort is returned by New when Config.Key is shorter than MinKeyLen.
var ErrKeyTooShort = errors.New("device: key too short")

// Config configures an Identifier.
type Config struct {
	// Key is the secret HMAC-SHA256 key device ids are derived with. Each
	// deployment has its own, so ids cannot be linked across deployments
	// or recomputed by someone who only sees descriptors. Changing it
	// changes every id (every device becomes "new"). At least MinKeyLen
	// bytes; New keeps a copy.
	Key []byte
	// Labels caches user-agent labels; pass the cache the familiarity
	// extractor reads too (signals/standard does), so that an evaluation
	// parses its user agent once. Nil means a cache of the default size
	// of this identifier's own.
	Labels *ualabel.Cache
}

// Identifier turns device descriptors and user agents into engine.DeviceInfo.
// It is immutable after New and safe for concurrent use.
type Identifier struct {
	// scratch pools HMAC-SHA256 instances keyed with Config.Key (crypto/hmac
	// keeps the key-block states, so Reset costs no key hashing) with a
	// message buffer: what is written through the hash.Hash interface
	// escapes, so it must not live on the stack.
	scratch sync.Pool
	labels  *ualabel.Cache
}

var _ engine.DeviceIdentifier = (*Identifier)(nil)

// New returns an Identifier keyed with cfg.Key. User agents are labelled
// through cfg.Labels.
func New(cfg Config) (*Identifier, error) {
	if len(cfg.Key) < MinKeyLen {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrKeyTooShort, len(cfg.Key), MinKeyLen)
	}
	key := bytes.Clone(cfg.Key)
	x := &Identifier{labels: cfg.Labels}
	if x.labels == nil {
		x.labels = ualabel.NewCache(0)
	}
	x.scratch.New = func() any { return &scratch{mac: hmac.New(sha256.New, key)} }
	return x, nil
}

// Identify normalises d (which may be nil) and userAgent into a DeviceInfo.
// It never fails and never panics: unusable input yields an empty ID.
func (x *Identifier) Identify(d *engine.DeviceDescriptor, userAgent string) engine.DeviceInfo {
	var info engine.DeviceInfo

	ua := userAgent
	if len(ua) > MaxUserAgentLen {
		ua = ua[:MaxUserAgentLen]
	}
	var osVersion string
	if strings.TrimSpace(ua) == "" {
		info.Headless = true
	} else {
		l := x.labels.Parse(ua)
		info.Browser, info.OS, info.Type = l.Browser, l.OS, l.Type
		if info.OS == "Windows" {
			osVersion = windowsVersion(ua)
		}
		if info.Type == "bot" || l.Automation {
			info.Headless = true
			info.Type = "bot"
		}
	}
	if d != nil && info.OS == "macOS" && d.TouchPoints > 1 && info.Type != "bot" {
		// iPadOS Safari asks for desktop sites by default and then sends a
		// Mac UA; real Macs report no touch points.
		info.OS, info.Type = "iOS", "tablet"
	}
	if d == nil {
		return info
	}

	sc := x.scratch.Get().(*scratch)
	defer x.scratch.Put(sc)
	msg := sc.buf[:0]
	// "c1" and "f1" separate the two id domains (and version the encoding),
	// so a cookie id can never produce the same id as some feature set.
	if cookie, ok := validCookie(d.CookieID); ok {
		msg = append(msg, "c1"...)
		msg = append(msg, cookie...)
		info.HasCookie = true
	} else {
		var weight int
		msg = append(msg, "f1"...)
		msg, weight = appendFeatures(msg, d, info.OS, osVersion, info.Browser)
		if weight < minIdentifyingWeight {
			return info
		}
	}
	info.ID = sc.id(msg)
	return info
}

type scratch struct {
	mac hash.Hash
	buf [featureBufLen]byte
	sum [sha256.Size]byte
}

// id computes HMAC-SHA256 of msg and formats its first 128 bits.
func (sc *scratch) id(msg []byte) string {
	sc.mac.Reset()
	sc.mac.Write(msg)
	sum := sc.mac.Sum(sc.sum[:0])
	var out [IDLen]byte
	copy(out[:], IDPrefix)
	hex.Encode(out[len(IDPrefix):], sum[:16])
	return string(out[:])
}

// windowsVersion returns the "Windows NT x.y" version token of ua, or "".
// It is frozen at 10.0 for Windows 10 and 11 (and by reduced user agents),
// so it only changes on a move from Windows 7/8 — effectively a new machine.
func windowsVersion(ua string) string {
	const tok = "Windows NT "
	i := strings.Index(ua, tok)
	if i < 0 {
		return ""
	}
	v := ua[i+len(tok):]
	n := 0
	for n < len(v) && n < 5 && (v[n] == '.' || (v[n] >= '0' && v[n] <= '9')) {
		n++
	}
	return v[:n]
}
