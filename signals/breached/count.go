package breached

import "math/bits"

// Counts in the table format are stored in 16 bits: exactly below 32768,
// above that as a 10-bit mantissa with a 5-bit exponent, rounded down (at
// most 0.1 % low). Pwned Passwords counts go up to a few tens of millions;
// rules compare them with thresholds, for which this is plenty.
const countExactLimit = 1 << 15

// encodeCount maps a count to its 16-bit code.
func encodeCount(n uint32) uint16 {
	if n < countExactLimit {
		return uint16(n)
	}
	e := bits.Len32(n) - 11 // n>>e is in [1024, 2047]; e >= 5
	m := n>>uint(e) - 1024
	return uint16(0x8000 | (e-5)<<10 | int(m))
}

// decodeCount maps a 16-bit code back to a count (the largest value with
// that code's lower bound).
func decodeCount(c uint16) uint32 {
	if c < countExactLimit {
		return uint32(c)
	}
	e := uint(c>>10&0x1f) + 5
	return (1024 + uint32(c&0x3ff)) << e
}
