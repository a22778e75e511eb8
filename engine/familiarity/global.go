package familiarity

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"
)

// Counts are the global numbers one score needs, for the values of one
// login: what a Redis-backed store fetches in the engine's single round
// trip (one counter read per sketch row and feature, plus two totals).
type Counts struct {
	// Freq is, per feature, the estimated number of logins that had this
	// login's value: never below the true count (count-min sketch).
	Freq [NumFeatures]uint64
	// Total is the number of logins counted.
	Total uint64
	// Users is the number of distinct users counted.
	Users uint64
}

// Lookup returns c itself, so that counts fetched ahead (from Redis, with
// the user's profile) can be handed to Model.Score as a GlobalReader.
func (c Counts) Lookup(Features) Counts { return c }

// GlobalReader is what the scorer reads global frequencies from. One call
// per score, for all features at once, so that a remote implementation
// costs one round trip. *Global implements it in memory; Counts implements
// it for numbers fetched ahead.
type GlobalReader interface {
	// Lookup returns the global counts for the values of x.
	Lookup(x Features) Counts
}

var (
	_ GlobalReader = (*Global)(nil)
	_ GlobalReader = Counts{}
)

// GlobalConfig sizes a Global's count-min sketches. The zero value selects
// the defaults.
type GlobalConfig struct {
	// Width is the number of counters per row, a power of two between
	// 2^8 and 2^24; default 2^15. The additive error bound is ε = e/Width
	// of the total: 8.3e-5 by default.
	Width int
	// Depth is the number of rows, 1 to 16; default 4. The bound fails for
	// a given value with probability δ = e^-Depth: 1.8% by default.
	Depth int
}

const (
	defaultWidth = 1 << 15
	defaultDepth = 4
)

// ErrGlobalConfig is returned (wrapped) by NewGlobal for unusable sizes and
// by Merge for sketches of different sizes.
var ErrGlobalConfig = errors.New("familiarity: bad global sketch size")

// Global counts how often each value of each feature occurs across all
// users, with bounded memory: one count-min sketch (Cormode and
// Muthukrishnan, 2005) per feature, Depth rows of Width 32-bit counters,
// NumFeatures·Depth·Width·4 bytes in all (4.5 MiB by default), plus the
// number of logins and of users. A value's estimate is never below its
// true count and, with probability at least 1-δ, at most ε·Total above it.
//
// All methods are safe for concurrent use: counters are atomics, so Add
// takes no lock. Counters saturate at 2^32-1 instead of wrapping.
type Global struct {
	width, depth int
	mask         uint64
	cells        []atomic.Uint32 // [feature][row][column]
	total        atomic.Uint64
	users        atomic.Uint64
}

// Sized returns c with its zero fields set to the defaults, or an error
// wrapping ErrGlobalConfig when a size is unusable. A sketch kept outside
// this package (the Redis state store) sizes itself with it, so that it
// accepts exactly the sizes NewGlobal does.
func (c GlobalConfig) Sized() (GlobalConfig, error) {
	if c.Width == 0 {
		c.Width = defaultWidth
	}
	if c.Depth == 0 {
		c.Depth = defaultDepth
	}
	if c.Width < 1<<8 || c.Width > 1<<24 || bits.OnesCount(uint(c.Width)) != 1 {
		return c, fmt.Errorf("%w: width %d is not a power of two in [2^8, 2^24]", ErrGlobalConfig, c.Width)
	}
	if c.Depth < 1 || c.Depth > 16 {
		return c, fmt.Errorf("%w: depth %d not in [1, 16]", ErrGlobalConfig, c.Depth)
	}
	return c, nil
}

// Columns appends to dst the counter column (0 to Width-1) of value v in
// each row of a sketch sized by c (which must come from Sized), row 0
// first. It is Global's own index scheme, exported so that a sketch kept
// elsewhere (the Redis state store) counts the same cells: its estimates,
// and so the scores, are then those of a Global fed with the same logins.
func (c GlobalConfig) Columns(dst []int, v string) []int {
	h, mask := hashValue(v), uint64(c.Width-1)
	for r := 0; r < c.Depth; r++ {
		dst = append(dst, rowColumn(h, r, mask))
	}
	return dst
}

// rowColumn is the column of hash v in row r: Kirsch–Mitzenmacher double
// hashing of one 64-bit hash (h1 + r·h2, h2 odd), which keeps the sketch's
// guarantees with one hash computation per value.
func rowColumn(v uint64, r int, mask uint64) int {
	h1, h2 := v&0xffffffff, (v>>32)|1
	return int((h1 + uint64(r)*h2) & mask)
}

// NewGlobal returns an empty Global sized by cfg.
func NewGlobal(cfg GlobalConfig) (*Global, error) {
	cfg, err := cfg.Sized()
	if err != nil {
		return nil, err
	}
	return &Global{
		width: cfg.Width,
		depth: cfg.Depth,
		mask:  uint64(cfg.Width - 1),
		cells: make([]atomic.Uint32, NumFeatures*cfg.Depth*cfg.Width),
	}, nil
}

// Epsilon returns the sketch's relative error bound ε = e/Width: an
// estimate exceeds the true count by at most ε·Total with probability at
// least 1-Delta().
func (g *Global) Epsilon() float64 { return math.E / float64(g.width) }

// Delta returns the probability e^-Depth that a given estimate exceeds the
// ε bound.
func (g *Global) Delta() float64 { return math.Exp(-float64(g.depth)) }

// MemoryBytes returns the size of the counters.
func (g *Global) MemoryBytes() int { return len(g.cells) * 4 }

// column returns the counter index of hash v in row r of feature f's
// sketch (see rowColumn; GlobalConfig.Columns exports the scheme).
func (g *Global) column(f Feature, r int, v uint64) int {
	return (int(f)*g.depth+r)*g.width + rowColumn(v, r, g.mask)
}

// Add counts one login with the values of x. The caller adds successful
// logins only (as it observes histories), so that an attack wave does not
// make the attacker's values look common.
func (g *Global) Add(x Features) {
	for f := Feature(0); f < NumFeatures; f++ {
		v := hashValue(x.Value(f))
		for r := 0; r < g.depth; r++ {
			incSaturating(&g.cells[g.column(f, r, v)], 1)
		}
	}
	g.total.Add(1)
}

// AddUser counts one more distinct user: the caller calls it when it
// observes a user's first login (History.Logins() was 0).
func (g *Global) AddUser() { g.users.Add(1) }

// incSaturating adds d to c, stopping at the largest uint32.
func incSaturating(c *atomic.Uint32, d uint32) {
	for {
		old := c.Load()
		sum := old + d
		if sum < old {
			sum = math.MaxUint32
		}
		if sum == old || c.CompareAndSwap(old, sum) {
			return
		}
	}
}

// Freq returns the estimated number of logins whose feature f had value v:
// the smallest of its counters.
func (g *Global) Freq(f Feature, v string) uint64 {
	if int(f) >= NumFeatures {
		return 0
	}
	return g.freq(f, hashValue(v))
}

func (g *Global) freq(f Feature, v uint64) uint64 {
	m := uint32(math.MaxUint32)
	for r := 0; r < g.depth; r++ {
		m = min(m, g.cells[g.column(f, r, v)].Load())
	}
	return uint64(m)
}

// Total returns the number of logins added.
func (g *Global) Total() uint64 { return g.total.Load() }

// Users returns the number of users added.
func (g *Global) Users() uint64 { return g.users.Load() }

// Lookup returns the counts for the values of x.
func (g *Global) Lookup(x Features) Counts {
	var c Counts
	for f := Feature(0); f < NumFeatures; f++ {
		c.Freq[f] = g.freq(f, hashValue(x.Value(f)))
	}
	c.Total, c.Users = g.Total(), g.Users()
	return c
}

// Merge adds o's counts into g (count-min sketches are linear: the merged
// sketch is the sketch of both streams, with the bounds of their sum). It
// is how per-instance sketches are combined or a snapshot is loaded into a
// live one. Both must have the same size.
func (g *Global) Merge(o *Global) error {
	if g.width != o.width || g.depth != o.depth {
		return fmt.Errorf("%w: merge %dx%d into %dx%d", ErrGlobalConfig, o.depth, o.width, g.depth, g.width)
	}
	for i := range g.cells {
		if d := o.cells[i].Load(); d != 0 {
			incSaturating(&g.cells[i], d)
		}
	}
	g.total.Add(o.total.Load())
	g.users.Add(o.users.Load())
	return nil
}

// Global encoding, version 1 (little-endian): 'G' 1, uint32 width, uint32
// depth, uint32 features, uint64 total, uint64 users, then the counters as
// uint32 in [feature][row][column] order.
const (
	globalMagic   = 'G'
	globalVersion = 1
	globalHeader  = 2 + 4 + 4 + 4 + 8 + 8
)

// MarshalBinary returns a snapshot of g. Taken while Adds run, each counter
// is read once, so the snapshot may be a few logins behind Total in some
// cells; estimates stay upper bounds of what they counted.
func (g *Global) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, globalHeader+4*len(g.cells))
	b = append(b, globalMagic, globalVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(g.width))
	b = binary.LittleEndian.AppendUint32(b, uint32(g.depth))
	b = binary.LittleEndian.AppendUint32(b, NumFeatures)
	b = binary.LittleEndian.AppendUint64(b, g.total.Load())
	b = binary.LittleEndian.AppendUint64(b, g.users.Load())
	for i := range g.cells {
		b = binary.LittleEndian.AppendUint32(b, g.cells[i].Load())
	}
	return b, nil
}

// UnmarshalBinary replaces g's contents (and size) with the snapshot in b.
// Invalid input is an error wrapping ErrCorrupt, never a panic. It must not
// run concurrently with other methods; load into a fresh Global and Merge
// to update a live one.
func (g *Global) UnmarshalBinary(b []byte) error {
	if len(b) < globalHeader || b[0] != globalMagic || b[1] != globalVersion {
		return fmt.Errorf("%w: global header", ErrCorrupt)
	}
	w := binary.LittleEndian.Uint32(b[2:])
	d := binary.LittleEndian.Uint32(b[6:])
	nf := binary.LittleEndian.Uint32(b[10:])
	if nf != NumFeatures {
		return fmt.Errorf("%w: %d features, want %d", ErrCorrupt, nf, NumFeatures)
	}
	cfg := GlobalConfig{Width: int(w), Depth: int(d)}
	if w == 0 || d == 0 { // zero would select the defaults
		return fmt.Errorf("%w: %dx%d sketch", ErrCorrupt, d, w)
	}
	body := b[globalHeader:]
	// Check the length before allocating: a corrupt header must not make
	// us allocate gigabytes. w and d are at most 2^32 each, so the product
	// fits in a uint64.
	if want := uint64(NumFeatures) * uint64(w) * uint64(d) * 4; uint64(len(body)) != want {
		return fmt.Errorf("%w: %d counter bytes for a %dx%d sketch", ErrCorrupt, len(body), d, w)
	}
	fresh, err := NewGlobal(cfg)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	fresh.total.Store(binary.LittleEndian.Uint64(b[14:]))
	fresh.users.Store(binary.LittleEndian.Uint64(b[22:]))
	for i := range fresh.cells {
		fresh.cells[i].Store(binary.LittleEndian.Uint32(body[4*i:]))
	}
	g.width, g.depth, g.mask = fresh.width, fresh.depth, fresh.mask
	g.cells = fresh.cells
	g.total.Store(fresh.total.Load())
	g.users.Store(fresh.users.Load())
	return nil
}
