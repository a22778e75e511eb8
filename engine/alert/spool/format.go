package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MaxRecordBytes is the largest payload Append accepts. It also bounds what
// a scan believes a length field, so a corrupt header never makes the spool
// allocate or skip gigabytes.
const MaxRecordBytes = 16 << 20

const (
	// segHeaderSize is the segment header: magic, version, three zero bytes.
	segHeaderSize = 8
	// recHeaderSize is the record header: payload length and CRC-32C, both
	// little-endian uint32.
	recHeaderSize = 8

	segVersion = 1
	segSuffix  = ".seg"
	// segNameDigits keeps names fixed-width so that a directory listing sorts
	// them in queue order for an operator too.
	segNameDigits = 20
)

var segMagic = [4]byte{'R', 'A', 'S', 'P'}

// castagnoli is built once per process by the standard library; it is an
// immutable lookup table, not state.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func segHeader() [segHeaderSize]byte {
	var h [segHeaderSize]byte
	copy(h[:], segMagic[:])
	h[4] = segVersion
	return h
}

func segName(id uint64) string {
	return fmt.Sprintf("%0*d%s", segNameDigits, id, segSuffix)
}

// parseSegName returns the id of a segment file name, and false for any
// other file so that foreign files in Dir are left alone.
func parseSegName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(base) != segNameDigits {
		return 0, false
	}
	for _, c := range base {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseUint(base, 10, 64)
	if err != nil || id == 0 || id > maxSegmentID {
		return 0, false
	}
	return id, true
}

// maxSegmentID keeps id+1 from overflowing whatever a file name or cursor
// says; at one segment a second it is a hundred million years away.
const maxSegmentID = 1 << 62

func putRecHeader(b []byte, payload []byte) {
	binary.LittleEndian.PutUint32(b[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[4:8], crc32.Checksum(payload, castagnoli))
}

// badKind says why a scan stopped before the end of a file.
type badKind int

const (
	badPartialHeader  badKind = iota + 1 // fewer than recHeaderSize bytes left
	badLength                            // length 0 or above MaxRecordBytes
	badPartialPayload                    // payload runs past the end of the file
	badCRC                               // payload does not match its checksum
)

func (k badKind) String() string {
	switch k {
	case badPartialHeader:
		return "partial record header"
	case badLength:
		return "invalid record length"
	case badPartialPayload:
		return "partial record payload"
	case badCRC:
		return "checksum mismatch"
	}
	return "unknown"
}

// badRecord is where and why a scan found a record it could not trust.
type badRecord struct {
	off    int64
	kind   badKind
	recEnd int64 // end of the record as its header claims (badCRC only)
}

// scanResult describes the valid records of [start, fileSize).
type scanResult struct {
	end   int64 // offset just after the last valid record (start if none)
	count int   // valid records in [start, end)
	bad   *badRecord
	// markBound is the greatest record boundary <= mark and markCount the
	// records in [start, markBound); they place a persisted read cursor.
	markBound int64
	markCount int
}

// scanRecords verifies every record from start (a record boundary) to
// size. It never allocates more than a bounded buffer whatever the content.
func scanRecords(r io.ReaderAt, start, size, mark int64) (scanResult, error) {
	res := scanResult{end: start, markBound: start}
	if start >= size {
		return res, nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, size-start), 256<<10)
	crc := crc32.New(castagnoli)
	var hdr [recHeaderSize]byte
	off := start
	for off < size {
		if size-off < recHeaderSize {
			res.bad = &badRecord{off: off, kind: badPartialHeader}
			return res, nil
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return res, fmt.Errorf("read at %d: %w", off, err)
		}
		n := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		want := binary.LittleEndian.Uint32(hdr[4:8])
		if n == 0 || n > MaxRecordBytes {
			res.bad = &badRecord{off: off, kind: badLength}
			return res, nil
		}
		end := off + recHeaderSize + n
		if end > size {
			res.bad = &badRecord{off: off, kind: badPartialPayload}
			return res, nil
		}
		crc.Reset()
		if _, err := io.CopyN(crc, br, n); err != nil {
			return res, fmt.Errorf("read at %d: %w", off+recHeaderSize, err)
		}
		if crc.Sum32() != want {
			res.bad = &badRecord{off: off, kind: badCRC, recEnd: end}
			return res, nil
		}
		off = end
		res.end = end
		res.count++
		if mark >= 0 && end <= mark {
			res.markBound = end
			res.markCount = res.count
		}
	}
	return res, nil
}

// validRecordAt reports whether one whole, checksum-valid record starts at
// off. It tells a torn tail (garbage to the end) from a corrupt record that
// intact records follow.
func validRecordAt(r io.ReaderAt, off, size int64) bool {
	res, err := scanRecords(r, off, min(size, off+recHeaderSize+MaxRecordBytes), -1)
	return err == nil && res.count > 0
}

// allZero reports whether [off, size) holds only zero bytes: what a file
// system leaves where a crash extended a file but lost its data.
func allZero(r io.ReaderAt, off, size int64) (bool, error) {
	buf := make([]byte, 32<<10)
	for off < size {
		n := min(int64(len(buf)), size-off)
		if _, err := r.ReadAt(buf[:n], off); err != nil {
			return false, err
		}
		for _, b := range buf[:n] {
			if b != 0 {
				return false, nil
			}
		}
		off += n
	}
	return true, nil
}

// isTornTail says whether the bad record of the last segment is the
// remains of an interrupted write (truncate it) rather than a corrupt record
// followed by intact ones (keep the bytes, skip them, and say so loudly).
func isTornTail(r io.ReaderAt, bad *badRecord, size int64) (bool, error) {
	switch bad.kind {
	case badPartialHeader, badPartialPayload:
		return true, nil
	case badCRC:
		return bad.recEnd == size || !validRecordAt(r, bad.recEnd, size), nil
	case badLength:
		return allZero(r, bad.off, size)
	}
	return false, nil
}

// cursor file: magic, version, 3 zero bytes, segment, offset, CRC-32C of
// the preceding 24 bytes.
const cursorSize = 28

var cursorMagic = [4]byte{'R', 'A', 'S', 'C'}

const (
	cursorName    = "cursor"
	cursorTmpName = "cursor.tmp"
)

func encodeCursor(p Position) []byte {
	b := make([]byte, cursorSize)
	copy(b, cursorMagic[:])
	b[4] = segVersion
	binary.LittleEndian.PutUint64(b[8:16], p.Segment)
	binary.LittleEndian.PutUint64(b[16:24], uint64(p.Offset))
	binary.LittleEndian.PutUint32(b[24:28], crc32.Checksum(b[:24], castagnoli))
	return b
}

var errBadCursor = errors.New("malformed cursor file")

func decodeCursor(b []byte) (Position, error) {
	if len(b) != cursorSize || [4]byte(b[0:4]) != cursorMagic || b[4] != segVersion {
		return Position{}, errBadCursor
	}
	if crc32.Checksum(b[:24], castagnoli) != binary.LittleEndian.Uint32(b[24:28]) {
		return Position{}, errBadCursor
	}
	p := Position{
		Segment: binary.LittleEndian.Uint64(b[8:16]),
		Offset:  int64(binary.LittleEndian.Uint64(b[16:24])),
	}
	if p.Segment == 0 || p.Segment > maxSegmentID || p.Offset < segHeaderSize {
		return Position{}, errBadCursor
	}
	return p, nil
}

// writeFileAtomic replaces dir/name so that a crash leaves either the old
// or the new content, never a mix: write a temporary file, fsync it,
// rename it over, fsync the directory so the rename itself is durable.
func (s *Spool) writeFileAtomic(dir, name, tmpName string, data []byte) error {
	tmp := filepath.Join(dir, tmpName)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := s.fsync(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return s.syncDir(dir)
}

// syncDir makes creations, renames and removals in dir durable.
func (s *Spool) syncDir(dir string) error {
	if s.opts.noFsync {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
