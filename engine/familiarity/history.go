package familiarity

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cespare/xxhash/v2"
)

// ErrCorrupt is returned (wrapped) by History.UnmarshalBinary and
// Global.UnmarshalBinary for bytes that are not a valid encoding.
var ErrCorrupt = errors.New("familiarity: corrupt encoding")

// MaxCap is the largest number of values per feature a History may hold,
// in Config and in an encoding. It bounds what decoding untrusted bytes can
// allocate.
const MaxCap = 255

// History is one user's login history as the model sees it: per feature,
// at most Config.Cap values with their exponentially decayed weights, plus
// the decayed total and the raw number of logins. Values are kept as 64-bit
// hashes, never as text: the profile blob holds no IP address or user agent
// (a stolen profile does not reveal where the user logs in from), and
// every entry has the same 12-byte size.
//
// The zero value is an empty history. A History is not safe for concurrent
// use: it belongs to one evaluation (decode, score, observe, encode).
type History struct {
	at     int64   // unix seconds of the last update; weights are as of then
	logins uint64  // raw number of observed logins (never decayed)
	total  float32 // decayed number of logins, as of at
	vals   [NumFeatures][]entry
}

// entry is one value of one feature and its decayed weight as of History.at.
type entry struct {
	h uint64
	w float32
}

// hashValue is the hash histories and the global sketch key values by.
func hashValue(v string) uint64 { return xxhash.Sum64String(v) }

// Logins returns the number of logins observed, not decayed.
func (h *History) Logins() uint64 { return h.logins }

// Len returns how many values of feature f the history keeps.
func (h *History) Len(f Feature) int {
	if int(f) >= NumFeatures {
		return 0
	}
	return len(h.vals[f])
}

// weightOf returns the stored weight of value hash v for feature f, and
// whether it is kept.
func (h *History) weightOf(f Feature, v uint64) (float64, bool) {
	for _, e := range h.vals[f] {
		if e.h == v {
			return float64(e.w), true
		}
	}
	return 0, false
}

// decayFactor is 2^(-(to-from)/halfLife): how much of a weight recorded at
// from is left at to. Times before from (clock skew, replays out of order)
// do not grow weights: the factor is then 1.
func decayFactor(from, to int64, halfLifeSeconds float64) float64 {
	if to <= from || halfLifeSeconds <= 0 {
		return 1
	}
	// In floating point: a decoded (untrusted) from may be far enough in
	// the past for to-from to overflow int64.
	return math.Exp2(-(float64(to) - float64(from)) / halfLifeSeconds)
}

// observe records one login with value hashes hs at unix second t.
func (h *History) observe(hs *[NumFeatures]uint64, t int64, cfg *Config) {
	if h.logins > 0 {
		f := decayFactor(h.at, t, cfg.HalfLife.Seconds())
		if f < 1 {
			h.total = float32(float64(h.total) * f)
			for i := range h.vals {
				h.vals[i] = decayAndPrune(h.vals[i], f, cfg.MinWeight)
			}
		}
	}
	if t > h.at || h.logins == 0 {
		h.at = t
	}
	h.logins++
	h.total++
	for i := range h.vals {
		h.vals[i] = add(h.vals[i], hs[i], cfg.Cap)
	}
}

// decayAndPrune multiplies every weight by f and drops the entries whose
// weight fell below minWeight: logins so old that they no longer count.
func decayAndPrune(es []entry, f, minWeight float64) []entry {
	out := es[:0]
	for _, e := range es {
		w := float64(e.w) * f
		if w < minWeight {
			continue
		}
		out = append(out, entry{h: e.h, w: float32(w)})
	}
	return out
}

// add adds one to the weight of v, inserting it if absent. When the list
// is full the entry with the smallest weight is evicted and v starts at 1:
// its weight is forgotten, never handed on (Space-Saving would let a new
// value inherit it, which would make an attacker's first value look
// familiar). A list longer than limit (a history decoded under a larger
// Config.Cap) is first cut back.
func add(es []entry, v uint64, limit int) []entry {
	for i := range es {
		if es[i].h == v {
			es[i].w++
			return es
		}
	}
	for len(es) >= limit && len(es) > 0 {
		es = removeMin(es)
	}
	if es == nil {
		es = make([]entry, 0, 2)
	}
	return append(es, entry{h: v, w: 1})
}

// removeMin removes the entry with the smallest weight (the first of equal
// ones), keeping the others' order.
func removeMin(es []entry) []entry {
	m := 0
	for i := 1; i < len(es); i++ {
		if es[i].w < es[m].w {
			m = i
		}
	}
	copy(es[m:], es[m+1:])
	return es[:len(es)-1]
}

// History encoding, version 1 (all integers little-endian):
//
//	'F' 1                      magic and version
//	varint   at                unix seconds of the last update
//	uvarint  logins            raw login count
//	float32  total             decayed login count
//	NumFeatures times:
//	  uvarint k                entries of this feature (≤ MaxCap)
//	  k times: uint64 hash, float32 weight
//
// An empty history is 17 bytes; each kept value adds 12.
const (
	historyMagic   = 'F'
	historyVersion = 1
	entrySize      = 12
)

// EncodedLen returns the length of h's binary encoding.
func (h *History) EncodedLen() int {
	n := 2 + varintLen(h.at) + uvarintLen(h.logins) + 4
	for i := range h.vals {
		n += uvarintLen(uint64(len(h.vals[i]))) + entrySize*len(h.vals[i])
	}
	return n
}

// AppendBinary appends h's binary encoding to b. It never fails.
func (h *History) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, historyMagic, historyVersion)
	b = binary.AppendVarint(b, h.at)
	b = binary.AppendUvarint(b, h.logins)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(h.total))
	for i := range h.vals {
		b = binary.AppendUvarint(b, uint64(len(h.vals[i])))
		for _, e := range h.vals[i] {
			b = binary.LittleEndian.AppendUint64(b, e.h)
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(e.w))
		}
	}
	return b, nil
}

// MarshalBinary returns h's binary encoding, the form stored with the user
// profile. It never fails.
func (h *History) MarshalBinary() ([]byte, error) {
	return h.AppendBinary(make([]byte, 0, h.EncodedLen()))
}

// UnmarshalBinary replaces h with the history encoded in b. The bytes come
// from storage and are treated as untrusted: anything but a valid encoding
// (wrong magic or version, truncation, trailing bytes, more than MaxCap
// entries, a weight that is negative, NaN or infinite, a duplicate value,
// entries in a history with no logins) is an error wrapping ErrCorrupt,
// never a panic, and h is left unchanged.
func (h *History) UnmarshalBinary(b []byte) error {
	var out History
	if len(b) < 2 {
		return fmt.Errorf("%w: history of %d bytes", ErrCorrupt, len(b))
	}
	if b[0] != historyMagic || b[1] != historyVersion {
		return fmt.Errorf("%w: history header %#x %#x", ErrCorrupt, b[0], b[1])
	}
	r := reader{b: b[2:]}
	out.at = r.varint()
	out.logins = r.uvarint()
	out.total = r.float32()
	if r.err == nil && !validWeight(out.total) {
		return fmt.Errorf("%w: history total %v", ErrCorrupt, out.total)
	}
	// One backing array for all features, sized by what the input can
	// hold (so at most len(b)/12 entries, whatever the counts claim). Each
	// feature's slice is capped at its length: Observe's appends then
	// reallocate instead of overwriting the next feature's entries.
	backing := make([]entry, 0, len(r.b)/entrySize)
	for i := range out.vals {
		k := r.uvarint()
		if r.err != nil {
			break
		}
		if k > MaxCap {
			return fmt.Errorf("%w: %d values of %s, at most %d", ErrCorrupt, k, Feature(i), MaxCap)
		}
		if k > 0 && out.logins == 0 {
			return fmt.Errorf("%w: values of %s in a history without logins", ErrCorrupt, Feature(i))
		}
		if uint64(len(r.b)) < k*entrySize {
			return fmt.Errorf("%w: history truncated in %s", ErrCorrupt, Feature(i))
		}
		if k == 0 {
			continue
		}
		start := len(backing)
		for j := 0; j < int(k); j++ {
			e := entry{
				h: binary.LittleEndian.Uint64(r.b[entrySize*j:]),
				w: math.Float32frombits(binary.LittleEndian.Uint32(r.b[entrySize*j+8:])),
			}
			if !validWeight(e.w) {
				return fmt.Errorf("%w: weight %v of %s", ErrCorrupt, e.w, Feature(i))
			}
			for _, prev := range backing[start:] {
				if prev.h == e.h {
					return fmt.Errorf("%w: duplicate value of %s", ErrCorrupt, Feature(i))
				}
			}
			backing = append(backing, e)
		}
		r.b = r.b[entrySize*int(k):]
		out.vals[i] = backing[start:len(backing):len(backing)]
	}
	if r.err != nil {
		return fmt.Errorf("%w: history: %w", ErrCorrupt, r.err)
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes after history", ErrCorrupt, len(r.b))
	}
	*h = out
	return nil
}

// maxWeight bounds decoded weights: a billion logins is beyond any user,
// and the bound keeps sums of weights far from float overflow.
const maxWeight = 1e9

// validWeight reports whether w can be a decayed count.
func validWeight(w float32) bool {
	return w >= 0 && w <= maxWeight // false for NaN
}

// errShort is the reader's error for input that ends too early.
var errShort = errors.New("unexpected end of input")

// reader consumes b, remembering the first error so that callers check once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) float32() float32 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 4 {
		r.err = errShort
		return 0
	}
	v := math.Float32frombits(binary.LittleEndian.Uint32(r.b))
	r.b = r.b[4:]
	return v
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func varintLen(v int64) int {
	u := uint64(v) << 1
	if v < 0 {
		u = ^u
	}
	return uvarintLen(u)
}
