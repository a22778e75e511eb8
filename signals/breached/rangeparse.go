package breached

import (
	"bytes"
	"errors"
	"fmt"
	"math"
)

// MinRangeSuffixDigits is the fewest suffix hex digits the range client
// accepts in a response line. The official API sends 35 (the whole rest of
// the SHA-1); this package's RangeHandler sends TableSuffixHexDigits (10).
// A shorter suffix would match too many unrelated passwords.
const MinRangeSuffixDigits = TableSuffixHexDigits

// ErrRangeResponse is wrapped by errors about an unparsable range response.
var ErrRangeResponse = errors.New("invalid range response")

// rangeEntry is one non-padding line of a range response: the known suffix
// nibbles (high nibble first) and the count.
type rangeEntry struct {
	suffix [18]byte
	n      uint8 // known nibbles, MinRangeSuffixDigits..35
	count  uint32
}

// parseRange parses a range response body: lines SUFFIX:COUNT (LF or CRLF,
// hex in any case). Zero-count lines (padding) are dropped. Any malformed
// line fails the whole response.
func parseRange(body []byte) ([]rangeEntry, error) {
	out := make([]rangeEntry, 0, bytes.Count(body, []byte{'\n'})+1)
	lineNo := 0
	for len(body) > 0 {
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		lineNo++
		line = bytes.TrimRight(line, "\r \t")
		if len(line) == 0 {
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return nil, fmt.Errorf("%w: line %d: no ':'", ErrRangeResponse, lineNo)
		}
		hex, digits := line[:colon], line[colon+1:]
		if len(hex) < MinRangeSuffixDigits || len(hex) > 35 {
			return nil, fmt.Errorf("%w: line %d: suffix of %d hex digits", ErrRangeResponse, lineNo, len(hex))
		}
		var e rangeEntry
		for i, c := range hex {
			v := unhexTable[c]
			if v > 0x0f {
				return nil, fmt.Errorf("%w: line %d: suffix is not hex", ErrRangeResponse, lineNo)
			}
			e.suffix[i/2] |= v << (4 * uint(1-i%2))
		}
		e.n = uint8(len(hex))
		if len(digits) == 0 || len(digits) > 20 {
			return nil, fmt.Errorf("%w: line %d: bad count", ErrRangeResponse, lineNo)
		}
		var c uint64
		for _, d := range digits {
			d -= '0'
			if d > 9 {
				return nil, fmt.Errorf("%w: line %d: bad count", ErrRangeResponse, lineNo)
			}
			if c > (math.MaxUint32-9)/10 {
				c = math.MaxUint32 // clamp; keep validating digits
				continue
			}
			c = c*10 + uint64(d)
		}
		if c == 0 {
			continue // padding
		}
		e.count = uint32(min(c, math.MaxUint32))
		out = append(out, e)
	}
	return out, nil
}

// matchRange finds the entry whose known nibbles are a prefix of the
// 35-nibble suffix own (packed like rangeEntry.suffix).
func matchRange(entries []rangeEntry, own *[18]byte) (uint32, bool) {
	for i := range entries {
		e := &entries[i]
		full := int(e.n / 2)
		if !bytes.Equal(e.suffix[:full], own[:full]) {
			continue
		}
		if e.n%2 == 1 && e.suffix[full]&0xf0 != own[full]&0xf0 {
			continue
		}
		return e.count, true
	}
	return 0, false
}

// splitDigest returns the 20-bit range prefix of a SHA-1 and its remaining
// 35 nibbles packed high-nibble-first.
func splitDigest(sum *[20]byte) (prefix uint32, suffix [18]byte) {
	prefix = uint32(sum[0])<<12 | uint32(sum[1])<<4 | uint32(sum[2])>>4
	// Nibble 5 onwards: shift the digest left by 4 bits from byte 2.
	for i := 0; i < 17; i++ {
		suffix[i] = sum[2+i]<<4 | sum[3+i]>>4
	}
	suffix[17] = sum[19] << 4
	return prefix, suffix
}
