package breached

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Table layout (FormatTable), after the 64-byte header:
//
//	data:  entries × 7 bytes, sorted: 40-bit suffix (bits 20..59 of the
//	       SHA-1, big-endian) + 16-bit count code (big-endian, see count.go),
//	       then tailPad zero bytes
//	index: (1<<20 + 1) little-endian u64: index[p] is the first entry whose
//	       20-bit prefix (the first 5 hex digits of the SHA-1) is >= p
const (
	tablePrefixBits = 20
	tableSuffixBits = 40
	tableEntrySize  = 7
	tableIndexLen   = 1<<tablePrefixBits + 1
	// TableSuffixHexDigits is how many hex digits of suffix the table knows
	// and the range handler returns (after the 5-digit prefix).
	TableSuffixHexDigits = tableSuffixBits / 4
	suffixMask           = 1<<tableSuffixBits - 1
)

// Table is a memory-mapped full-corpus table (FormatTable): exact up to the
// 60-bit truncation, with counts, and enumerable by range prefix. It is
// safe for concurrent use; Close must not be called while checks run.
type Table struct {
	m       *mappedFile
	entries []byte // entries*7 + tailPad
	index   []byte // tableIndexLen * 8
	n       uint64
}

var (
	_ Checker = (*Table)(nil)
	_ Local   = (*Table)(nil)
)

// OpenTable memory-maps a file written by Import with FormatTable and
// validates its structure (not its checksum: see Verify).
func OpenTable(path string) (*Table, error) {
	m, err := openMapped(path)
	if err != nil {
		return nil, err
	}
	t, err := newTable(m)
	if err != nil {
		_ = unmap(m.data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func newTable(m *mappedFile) (*Table, error) {
	h := &m.hdr
	if h.magic != magicTable {
		return nil, fmt.Errorf("%w: a %s file, not a table", ErrFormat, FormatFilter)
	}
	if h.param != tableSuffixBits || h.bits != tablePrefixBits {
		return nil, fmt.Errorf("%w: unsupported table geometry", ErrFormat)
	}
	size := uint64(len(m.data))
	dataLen := h.entries*tableEntrySize + tailPad
	if h.entries > size || h.dataOff != headerSize || h.dataOff+dataLen > size ||
		h.indexOff < h.dataOff+dataLen || h.indexOff+tableIndexLen*8 != size {
		return nil, fmt.Errorf("%w: inconsistent table layout", ErrFormat)
	}
	t := &Table{
		m:       m,
		entries: m.data[h.dataOff : h.dataOff+dataLen],
		index:   m.data[h.indexOff:size],
		n:       h.entries,
	}
	// A monotonic index ending at n keeps every lookup in bounds.
	var prev uint64
	for i := range tableIndexLen {
		v := binary.LittleEndian.Uint64(t.index[i*8:])
		if v < prev || v > t.n {
			return nil, fmt.Errorf("%w: corrupt prefix index", ErrFormat)
		}
		prev = v
	}
	if prev != t.n || binary.LittleEndian.Uint64(t.index) != 0 {
		return nil, fmt.Errorf("%w: corrupt prefix index", ErrFormat)
	}
	return t, nil
}

// Check implements Checker: the password is checked exactly as typed.
func (t *Table) Check(_ context.Context, password string) (Result, error) {
	sum := digest(password)
	c, ok := t.lookup(key64(&sum))
	clear(sum[:])
	if !ok {
		return Result{}, nil
	}
	return Result{Breached: true, Count: int(c)}, nil
}

// CheckSHA1 checks a password by its SHA-1 digest.
func (t *Table) CheckSHA1(sum *[sha1.Size]byte) Result {
	c, ok := t.lookup(key64(sum))
	return Result{Breached: ok, Count: int(c)}
}

// Local implements Local.
func (*Table) Local() bool { return true }

func (t *Table) bounds(prefix uint64) (lo, hi uint64) {
	return binary.LittleEndian.Uint64(t.index[prefix*8:]), binary.LittleEndian.Uint64(t.index[prefix*8+8:])
}

func (t *Table) entry(i uint64) (suffix uint64, code uint16) {
	v := binary.BigEndian.Uint64(t.entries[i*tableEntrySize:])
	return v >> 24, uint16(v >> 8)
}

func (t *Table) lookup(key uint64) (uint32, bool) {
	k := key >> (64 - tablePrefixBits - tableSuffixBits)
	lo, hi := t.bounds(k >> tableSuffixBits)
	want := k & suffixMask
	if n := hi - lo; n > 2*tableWindow {
		// Suffixes are uniform within a prefix: interpolate, then search a
		// window around the estimate (or the side it proves the key is on).
		// At 1e9 entries (~950 per prefix) this touches ~3 cache lines
		// instead of ~8 for a plain binary search.
		ph, pl := bits.Mul64(want, n)
		est := lo + (ph<<(64-tableSuffixBits) | pl>>tableSuffixBits)
		wlo, whi := max(est, lo+tableWindow)-tableWindow, min(est+tableWindow, hi)
		if s, _ := t.entry(wlo); s > want {
			hi = wlo
		} else if s, _ := t.entry(whi - 1); s < want {
			lo = whi
		} else {
			lo, hi = wlo, whi
		}
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		s, code := t.entry(mid)
		switch {
		case s < want:
			lo = mid + 1
		case s > want:
			hi = mid
		default:
			return decodeCount(code), true
		}
	}
	return 0, false
}

// tableWindow is the half-width of the interpolation window, in entries.
const tableWindow = 48

// Range calls fn for every entry whose SHA-1 starts with the 20-bit prefix
// (the 5 hex digits of the range API), in suffix order. suffix holds the
// next 40 bits (TableSuffixHexDigits hex digits).
func (t *Table) Range(prefix uint32, fn func(suffix uint64, count uint32)) {
	if prefix >= 1<<tablePrefixBits {
		return
	}
	lo, hi := t.bounds(uint64(prefix))
	for i := lo; i < hi; i++ {
		s, code := t.entry(i)
		fn(s, decodeCount(code))
	}
}

// Len returns the number of entries.
func (t *Table) Len() uint64 { return t.n }

// MinCount returns the import's minimum-count threshold.
func (t *Table) MinCount() uint32 { return t.m.hdr.minCount }

// Size returns the file size in bytes.
func (t *Table) Size() int64 { return int64(len(t.m.data)) }

// Verify recomputes the file checksum (reads the whole file).
func (t *Table) Verify() error { return verifyCRC(t.m.data, &t.m.hdr) }

// Close unmaps the file. No Check or Range may run during or after Close.
func (t *Table) Close() error { return unmap(t.m.data) }

// tableWriter streams sorted, de-duplicated 64-bit keys into a table file.
type tableWriter struct {
	out   *atomicFile
	index []uint64 // counts per prefix, turned into offsets on finish
	n     uint64
	last  uint64 // last 60-bit key written, valid when n > 0
	lastC uint16
	buf   [8]byte
	dups  int64
	held  bool
}

func newTableWriter(out *atomicFile) *tableWriter {
	return &tableWriter{out: out, index: make([]uint64, tableIndexLen)}
}

// add takes keys in ascending order. Keys equal after truncation to 60 bits
// are merged, keeping the larger count.
func (w *tableWriter) add(key uint64, count uint32) error {
	k := key >> (64 - tablePrefixBits - tableSuffixBits)
	code := encodeCount(count)
	if w.held {
		if k == w.last {
			w.dups++
			if code > w.lastC {
				w.lastC = code
			}
			return nil
		}
		if err := w.flushHeld(); err != nil {
			return err
		}
	}
	w.last, w.lastC, w.held = k, code, true
	return nil
}

func (w *tableWriter) flushHeld() error {
	v := (w.last&suffixMask)<<24 | uint64(w.lastC)<<8
	binary.BigEndian.PutUint64(w.buf[:], v)
	if _, err := w.out.Write(w.buf[:tableEntrySize]); err != nil {
		return err
	}
	w.index[(w.last>>tableSuffixBits)+1]++
	w.n++
	return nil
}

func (w *tableWriter) finish(minCount uint32) (fileHeader, error) {
	if w.held {
		if err := w.flushHeld(); err != nil {
			return fileHeader{}, err
		}
		w.held = false
	}
	if _, err := w.out.Write(make([]byte, tailPad)); err != nil {
		return fileHeader{}, err
	}
	indexOff := w.out.off
	var b [8]byte
	var sum uint64
	for i := range w.index {
		sum += w.index[i]
		binary.LittleEndian.PutUint64(b[:], sum)
		if _, err := w.out.Write(b[:]); err != nil {
			return fileHeader{}, err
		}
	}
	return fileHeader{
		magic:    magicTable,
		version:  formatVersion,
		param:    tableSuffixBits,
		entries:  w.n,
		dataOff:  headerSize,
		indexOff: indexOff,
		minCount: minCount,
		bits:     tablePrefixBits,
	}, nil
}
