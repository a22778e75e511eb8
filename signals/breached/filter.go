package breached

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/FastFilter/xorfilter"
)

// Filter layout (FormatFilter), after the 64-byte header:
//
//	data: per shard, the binary fuse filter's fingerprints packed
//	      little-endian at FingerprintBits bits each, then tailPad bytes
//	dir:  1<<shardBits records of 40 bytes: seed u64, segmentLength u32,
//	      segmentLengthMask u32, segmentCount u32, segmentCountLength u32,
//	      fingerprints u32, keys u32, offset u64 (of the shard's data)
//
// Shard i holds the keys (first 64 bits of the SHA-1) whose top shardBits
// bits are i. The filters are built with github.com/FastFilter/xorfilter
// (BinaryFuse[uint16]); only the low FingerprintBits bits of each 16-bit
// fingerprint are kept. That is exact for the membership test because a
// fuse filter's check is a bitwise XOR of three fingerprints against the
// key's fingerprint: any subset of bit positions satisfies the same
// equation, so truncating to k bits leaves no false negatives and gives a
// false-positive rate of 2^-k.
const (
	filterDirEntry = 40
	// DefaultFingerprintBits gives about 2.11 bytes per entry (1.97 GiB at
	// 1e9 entries) and a false-positive rate of 2^-15 ≈ 0.003 %.
	DefaultFingerprintBits = 15
	// MinFingerprintBits and MaxFingerprintBits bound the fingerprint size.
	MinFingerprintBits = 8
	MaxFingerprintBits = 16
	maxShardBits       = spillBits
	// shardTarget is the key count above which the importer splits the
	// filter into more shards; it bounds the memory of one build (about
	// 40 bytes per key).
	shardTarget = 1 << 22
)

type fuseShard struct {
	seed        uint64
	segLen      uint32
	segMask     uint32
	segCountLen uint32
	nfp         uint32
	fps         []byte
}

// Filter is a memory-mapped, check-only full-corpus filter (FormatFilter):
// no counts, no false negatives, false-positive rate 2^-FingerprintBits.
// It is safe for concurrent use; Close must not be called while checks run.
type Filter struct {
	m         *mappedFile
	shards    []fuseShard
	shardBits uint
	fpBits    uint
	fpMask    uint32
}

var (
	_ Checker = (*Filter)(nil)
	_ Local   = (*Filter)(nil)
)

// OpenFilter memory-maps a file written by Import with FormatFilter and
// validates its structure (not its checksum: see Verify).
func OpenFilter(path string) (*Filter, error) {
	m, err := openMapped(path)
	if err != nil {
		return nil, err
	}
	f, err := newFilter(m)
	if err != nil {
		_ = unmap(m.data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

func newFilter(m *mappedFile) (*Filter, error) {
	h := &m.hdr
	if h.magic != magicFilter {
		return nil, fmt.Errorf("%w: a %s file, not a filter", ErrFormat, FormatTable)
	}
	if h.param < MinFingerprintBits || h.param > MaxFingerprintBits || h.bits > maxShardBits {
		return nil, fmt.Errorf("%w: unsupported filter geometry", ErrFormat)
	}
	size := uint64(len(m.data))
	nShards := uint64(1) << h.bits
	if h.dataOff != headerSize || h.indexOff < h.dataOff || h.indexOff+nShards*filterDirEntry != size {
		return nil, fmt.Errorf("%w: inconsistent filter layout", ErrFormat)
	}
	f := &Filter{
		m:         m,
		shards:    make([]fuseShard, nShards),
		shardBits: uint(h.bits),
		fpBits:    uint(h.param),
		fpMask:    1<<h.param - 1,
	}
	le := binary.LittleEndian
	var keys uint64
	for i := range f.shards {
		d := m.data[h.indexOff+uint64(i)*filterDirEntry:]
		s := fuseShard{
			seed:        le.Uint64(d[0:]),
			segLen:      le.Uint32(d[8:]),
			segMask:     le.Uint32(d[12:]),
			segCountLen: le.Uint32(d[20:]),
			nfp:         le.Uint32(d[24:]),
		}
		segCount := le.Uint32(d[16:])
		keys += uint64(le.Uint32(d[28:]))
		off := le.Uint64(d[32:])
		n := (uint64(s.nfp)*uint64(f.fpBits)+7)/8 + tailPad
		if off < h.dataOff || off+n > h.indexOff {
			return nil, fmt.Errorf("%w: shard %d out of bounds", ErrFormat, i)
		}
		if s.nfp > 0 {
			// Lookups touch indices < segCountLen + 2*segLen; they must exist.
			if s.segLen == 0 || s.segLen&(s.segLen-1) != 0 || s.segMask != s.segLen-1 ||
				uint64(segCount)*uint64(s.segLen) != uint64(s.segCountLen) ||
				uint64(s.segCountLen)+2*uint64(s.segLen) > uint64(s.nfp) {
				return nil, fmt.Errorf("%w: shard %d has inconsistent parameters", ErrFormat, i)
			}
		}
		s.fps = m.data[off : off+n]
		f.shards[i] = s
	}
	if keys != h.entries {
		return nil, fmt.Errorf("%w: shard key counts do not add up", ErrFormat)
	}
	return f, nil
}

// Check implements Checker: the password is checked exactly as typed.
// Count is always 0 (unknown).
func (f *Filter) Check(_ context.Context, password string) (Result, error) {
	sum := digest(password)
	ok := f.contains(key64(&sum))
	clear(sum[:])
	return Result{Breached: ok}, nil
}

// CheckSHA1 checks a password by its SHA-1 digest.
func (f *Filter) CheckSHA1(sum *[sha1.Size]byte) Result {
	return Result{Breached: f.contains(key64(sum))}
}

// Local implements Local.
func (*Filter) Local() bool { return true }

// Len returns the number of keys the filter was built from.
func (f *Filter) Len() uint64 { return f.m.hdr.entries }

// FingerprintBits returns the fingerprint size; the false-positive rate is
// 2^-FingerprintBits.
func (f *Filter) FingerprintBits() int { return int(f.fpBits) }

// MinCount returns the import's minimum-count threshold.
func (f *Filter) MinCount() uint32 { return f.m.hdr.minCount }

// Size returns the file size in bytes.
func (f *Filter) Size() int64 { return int64(len(f.m.data)) }

// Verify recomputes the file checksum (reads the whole file).
func (f *Filter) Verify() error { return verifyCRC(f.m.data, &f.m.hdr) }

// Close unmaps the file. No Check may run during or after Close.
func (f *Filter) Close() error { return unmap(f.m.data) }

func (f *Filter) contains(key uint64) bool {
	var s *fuseShard
	if f.shardBits == 0 {
		s = &f.shards[0]
	} else {
		s = &f.shards[key>>(64-f.shardBits)]
	}
	if s.nfp == 0 {
		return false
	}
	// The hashing below mirrors xorfilter's BinaryFuse.Contains; a test
	// checks that both agree on every key.
	hash := murmur64(key + s.seed)
	fp := uint32(hash ^ hash>>32)
	hi, _ := bits.Mul64(hash, uint64(s.segCountLen))
	h0 := uint32(hi)
	h1 := h0 + s.segLen
	h2 := h1 + s.segLen
	h1 ^= uint32(hash>>18) & s.segMask
	h2 ^= uint32(hash) & s.segMask
	fp ^= s.at(h0, f.fpBits) ^ s.at(h1, f.fpBits) ^ s.at(h2, f.fpBits)
	return fp&f.fpMask == 0
}

// at returns the packed fingerprint i (unmasked high bits included).
func (s *fuseShard) at(i uint32, k uint) uint32 {
	bit := uint64(i) * uint64(k)
	return binary.LittleEndian.Uint32(s.fps[bit>>3:]) >> (bit & 7)
}

func murmur64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// filterWriter builds one shard at a time from sorted, de-duplicated keys.
type filterWriter struct {
	out     *atomicFile
	fpBits  uint
	dir     []byte
	builder xorfilter.BinaryFuseBuilder
	n       uint64
	packed  []byte
}

func newFilterWriter(out *atomicFile, fpBits, shardBits uint) *filterWriter {
	return &filterWriter{out: out, fpBits: fpBits, dir: make([]byte, 0, filterDirEntry<<shardBits)}
}

// addShard builds and writes the next shard. keys must be distinct; the
// slice may be modified.
func (w *filterWriter) addShard(keys []uint64) error {
	le := binary.LittleEndian
	var rec [filterDirEntry]byte
	off := w.out.off
	le.PutUint64(rec[32:], off)
	le.PutUint32(rec[28:], uint32(len(keys)))
	if len(keys) > 0 {
		bf, err := xorfilter.BuildBinaryFuse[uint16](&w.builder, keys)
		if err != nil {
			return fmt.Errorf("build filter shard: %w", err)
		}
		le.PutUint64(rec[0:], bf.Seed)
		le.PutUint32(rec[8:], bf.SegmentLength)
		le.PutUint32(rec[12:], bf.SegmentLengthMask)
		le.PutUint32(rec[16:], bf.SegmentCount)
		le.PutUint32(rec[20:], bf.SegmentCountLength)
		le.PutUint32(rec[24:], uint32(len(bf.Fingerprints)))
		w.packed = packFingerprints(w.packed[:0], bf.Fingerprints, w.fpBits)
		if _, err := w.out.Write(w.packed); err != nil {
			return err
		}
	}
	if _, err := w.out.Write(make([]byte, tailPad)); err != nil {
		return err
	}
	w.dir = append(w.dir, rec[:]...)
	w.n += uint64(len(keys))
	return nil
}

// packFingerprints appends the low k bits of each fingerprint, LSB first.
func packFingerprints(dst []byte, fps []uint16, k uint) []byte {
	var acc uint64
	var n uint
	mask := uint64(1)<<k - 1
	for _, fp := range fps {
		acc |= (uint64(fp) & mask) << n
		n += k
		for n >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	if n > 0 {
		dst = append(dst, byte(acc))
	}
	return dst
}

func (w *filterWriter) finish(minCount uint32, shardBits uint) (fileHeader, error) {
	dirOff := w.out.off
	if _, err := w.out.Write(w.dir); err != nil {
		return fileHeader{}, err
	}
	return fileHeader{
		magic:    magicFilter,
		version:  formatVersion,
		param:    uint32(w.fpBits),
		entries:  w.n,
		dataOff:  headerSize,
		indexOff: dirOff,
		minCount: minCount,
		bits:     uint32(shardBits),
	}, nil
}
