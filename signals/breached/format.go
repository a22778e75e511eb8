package breached

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// Format names an on-disk full-corpus structure (see the package doc).
type Format string

// The two on-disk formats.
const (
	// FormatFilter is the compact, check-only format: sharded binary fuse
	// filters with FingerprintBits-bit fingerprints, no counts, no range
	// serving, a small false-positive rate.
	FormatFilter Format = "filter"
	// FormatTable is the range-serving format: a sorted table of 60-bit
	// truncated hashes with counts, indexed by the 5-hex-digit range prefix.
	FormatTable Format = "table"
)

// ErrFormat is returned (wrapped) when a file is not a valid table or filter.
var ErrFormat = errors.New("not a valid breached-password file")

const (
	headerSize    = 64
	formatVersion = 1
	magicTable    = "RABRTBL1"
	magicFilter   = "RABRFLT1"
	// tailPad bytes follow every variable-length region so that lookups can
	// use fixed-width unaligned loads at the last element.
	tailPad = 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileHeader is the first 64 bytes of both formats, little-endian:
//
//	0  magic [8]      8  version u32   12 param u32 (table: suffix bits; filter: fingerprint bits)
//	16 entries u64    24 dataOff u64   32 indexOff u64 (table: prefix index; filter: shard directory)
//	40 minCount u32   44 bits u32 (table: prefix bits; filter: shard bits)
//	48 size u64       56 crc32c u32 of bytes [64, size)    60 reserved
type fileHeader struct {
	magic    string
	version  uint32
	param    uint32
	entries  uint64
	dataOff  uint64
	indexOff uint64
	minCount uint32
	bits     uint32
	size     uint64
	crc      uint32
}

func (h *fileHeader) marshal() []byte {
	b := make([]byte, headerSize)
	copy(b, h.magic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], h.version)
	le.PutUint32(b[12:], h.param)
	le.PutUint64(b[16:], h.entries)
	le.PutUint64(b[24:], h.dataOff)
	le.PutUint64(b[32:], h.indexOff)
	le.PutUint32(b[40:], h.minCount)
	le.PutUint32(b[44:], h.bits)
	le.PutUint64(b[48:], h.size)
	le.PutUint32(b[56:], h.crc)
	return b
}

func parseHeader(b []byte) (fileHeader, error) {
	if len(b) < headerSize {
		return fileHeader{}, fmt.Errorf("%w: %d bytes is shorter than the header", ErrFormat, len(b))
	}
	le := binary.LittleEndian
	h := fileHeader{
		magic:    string(b[:8]),
		version:  le.Uint32(b[8:]),
		param:    le.Uint32(b[12:]),
		entries:  le.Uint64(b[16:]),
		dataOff:  le.Uint64(b[24:]),
		indexOff: le.Uint64(b[32:]),
		minCount: le.Uint32(b[40:]),
		bits:     le.Uint32(b[44:]),
		size:     le.Uint64(b[48:]),
		crc:      le.Uint32(b[56:]),
	}
	if h.magic != magicTable && h.magic != magicFilter {
		return h, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	if h.version != formatVersion {
		return h, fmt.Errorf("%w: format version %d, want %d", ErrFormat, h.version, formatVersion)
	}
	if h.size != uint64(len(b)) {
		return h, fmt.Errorf("%w: header says %d bytes, file has %d (truncated?)", ErrFormat, h.size, len(b))
	}
	return h, nil
}

// verifyCRC recomputes the body checksum of a mapped file.
func verifyCRC(b []byte, h *fileHeader) error {
	if got := crc32.Checksum(b[headerSize:], castagnoli); got != h.crc {
		return fmt.Errorf("%w: checksum mismatch (%08x, want %08x)", ErrFormat, got, h.crc)
	}
	return nil
}

// atomicFile writes a file under a temporary name in the target directory
// and only renames it into place, after fsync, on commit: an interrupted
// import never leaves a half-written file at the target path.
type atomicFile struct {
	f    *os.File
	w    *bufio.Writer
	crc  hash.Hash32
	off  uint64
	path string
}

func createAtomic(path string) (*atomicFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create temporary output: %w", err)
	}
	a := &atomicFile{f: f, w: bufio.NewWriterSize(f, 1<<20), crc: crc32.New(castagnoli), path: path}
	// Placeholder header, rewritten on commit.
	if _, err := a.w.Write(make([]byte, headerSize)); err != nil {
		a.abort()
		return nil, err
	}
	a.off = headerSize
	return a, nil
}

func (a *atomicFile) Write(p []byte) (int, error) {
	n, err := a.w.Write(p)
	a.crc.Write(p[:n])
	a.off += uint64(n)
	return n, err
}

// commit writes the header, syncs and renames the file into place.
func (a *atomicFile) commit(h *fileHeader) (size int64, err error) {
	defer func() {
		if err != nil {
			a.abort()
		}
	}()
	if err := a.w.Flush(); err != nil {
		return 0, fmt.Errorf("write output: %w", err)
	}
	h.size = a.off
	h.crc = a.crc.Sum32()
	if _, err := a.f.WriteAt(h.marshal(), 0); err != nil {
		return 0, fmt.Errorf("write output header: %w", err)
	}
	if err := a.f.Chmod(0o644); err != nil {
		return 0, fmt.Errorf("chmod output: %w", err)
	}
	if err := a.f.Sync(); err != nil {
		return 0, fmt.Errorf("fsync output: %w", err)
	}
	if err := a.f.Close(); err != nil {
		return 0, fmt.Errorf("close output: %w", err)
	}
	if err := os.Rename(a.f.Name(), a.path); err != nil {
		return 0, fmt.Errorf("rename output into place: %w", err)
	}
	syncDir(filepath.Dir(a.path))
	return int64(h.size), nil
}

// abort discards the temporary file.
func (a *atomicFile) abort() {
	_ = a.f.Close()
	_ = os.Remove(a.f.Name())
}

// syncDir makes a rename durable; errors are ignored because not every
// platform can fsync a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// mappedFile is an open, memory-mapped table or filter file.
type mappedFile struct {
	data []byte
	hdr  fileHeader
}

func openMapped(path string) (*mappedFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	data, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	h, err := parseHeader(data)
	if err != nil {
		_ = unmap(data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &mappedFile{data: data, hdr: h}, nil
}

var _ io.Writer = (*atomicFile)(nil)
