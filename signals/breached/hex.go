package breached

import (
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"math"
	"unsafe"
)

// unhexTable maps a byte to its hex value, 0xff when it is not a hex digit.
// It is a constant so that no state is built at init.
const unhexTable = "" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\xff\xff\xff\xff\xff\xff" +
	"\xff\x0a\x0b\x0c\x0d\x0e\x0f\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\x0a\x0b\x0c\x0d\x0e\x0f\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff" +
	"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"

const upperHex = "0123456789ABCDEF"

// digest returns the SHA-1 of password without copying it. Callers clear
// the returned array when done with it.
func digest(password string) [sha1.Size]byte {
	return sha1.Sum(unsafe.Slice(unsafe.StringData(password), len(password)))
}

// key64 is the first 64 bits of a SHA-1, big-endian: the form every
// on-disk structure of this package is keyed by.
func key64(sum *[sha1.Size]byte) uint64 {
	return binary.BigEndian.Uint64(sum[:8])
}

// Reasons a corpus line is rejected. They are static so that parsing a bad
// line does not allocate; the importer wraps them with the line number.
var (
	errBadHash   = errors.New("hash is not the expected number of hex digits")
	errNoCount   = errors.New("missing ':COUNT' after the hash")
	errBadCount  = errors.New("count is not a decimal number")
	errLongCount = errors.New("count has more than 20 digits")
	errLongLine  = errors.New("line longer than 1 MiB")
)

// parseLine parses one corpus line: hexDigits hex digits (40 for a full
// SHA-1, 35 for a range-file suffix), ':', a decimal count, then optional
// trailing blanks or '\r'. Hex is case-insensitive. It returns the first
// min(16, hexDigits) digits as an integer (left-aligned in 64 bits, so a
// 35-digit suffix yields its first 64 bits) and the count, clamped to
// math.MaxUint32. It does not allocate.
func parseLine(line []byte, hexDigits int) (hi uint64, count uint32, err error) {
	// Trim trailing '\n', '\r', ' ', '\t'.
	n := len(line)
	for n > 0 {
		c := line[n-1]
		if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
			break
		}
		n--
	}
	line = line[:n]
	if len(line) < hexDigits+1 {
		if len(line) == hexDigits && validHex(line) {
			return 0, 0, errNoCount
		}
		return 0, 0, errBadHash
	}
	var bad byte
	for i := 0; i < 16 && i < hexDigits; i++ {
		v := unhexTable[line[i]]
		bad |= v
		hi = hi<<4 | uint64(v&0x0f)
	}
	if hexDigits < 16 {
		hi <<= 4 * uint(16-hexDigits)
	}
	for i := 16; i < hexDigits; i++ {
		bad |= unhexTable[line[i]]
	}
	if bad&0xf0 != 0 {
		return 0, 0, errBadHash
	}
	if line[hexDigits] != ':' {
		if unhexTable[line[hexDigits]] != 0xff {
			return 0, 0, errBadHash // too many hex digits
		}
		return 0, 0, errNoCount
	}
	digits := line[hexDigits+1:]
	if len(digits) == 0 {
		return 0, 0, errBadCount
	}
	if len(digits) > 20 {
		return 0, 0, errLongCount
	}
	var c uint64
	overflow := false
	for _, d := range digits {
		d -= '0'
		if d > 9 {
			return 0, 0, errBadCount
		}
		if c > (math.MaxUint64-9)/10 {
			overflow = true
		}
		c = c*10 + uint64(d)
	}
	if overflow || c > math.MaxUint32 {
		c = math.MaxUint32
	}
	return hi, uint32(c), nil
}

func validHex(b []byte) bool {
	var bad byte
	for _, c := range b {
		bad |= unhexTable[c]
	}
	return bad&0xf0 == 0
}
