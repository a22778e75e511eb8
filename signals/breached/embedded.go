package breached

import (
	"context"
	_ "embed" // the embedded corpus
	"encoding/binary"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

// embeddedCorpus is zxcvbn_common.bin: sorted, distinct big-endian uint64
// keys (first 64 bits of the SHA-1 of each password). A string, so the
// data is immutable.
//
//go:embed zxcvbn_common.bin
var embeddedCorpus string

// EmbeddedOptions tune the embedded checker.
type EmbeddedOptions struct {
	// CaseSensitive checks the password only as typed. By default the
	// lower-cased password is checked too, because the source list is
	// lower-cased: its "password1" stands for "Password1" and "PASSWORD1"
	// as well, which guessing tools try right after it.
	CaseSensitive bool
}

// Embedded checks passwords against the ~49k most common breached
// passwords shipped in the binary (from @zxcvbn-ts/language-common,
// MIT; see NOTICE). It needs no configuration or I/O. The list has ranks,
// not counts, so Count is always 0 (unknown).
//
// Membership is exact up to the 64-bit truncation of the SHA-1: a
// password outside the list matches with probability 49233/2^64 ≈ 2.7e-15.
type Embedded struct {
	keys          []byte // 8 bytes per key
	n             int
	caseSensitive bool
}

var (
	_ Checker = (*Embedded)(nil)
	_ Local   = (*Embedded)(nil)
)

// NewEmbedded returns the embedded-corpus checker.
func NewEmbedded(opts EmbeddedOptions) *Embedded {
	return &Embedded{
		keys:          unsafe.Slice(unsafe.StringData(embeddedCorpus), len(embeddedCorpus)),
		n:             len(embeddedCorpus) / 8,
		caseSensitive: opts.CaseSensitive,
	}
}

// Check implements Checker. It does not allocate.
func (e *Embedded) Check(_ context.Context, password string) (Result, error) {
	return Result{Breached: e.Contains(password)}, nil
}

// Local implements Local.
func (*Embedded) Local() bool { return true }

// Len returns the number of passwords in the corpus.
func (e *Embedded) Len() int { return e.n }

// Contains reports whether the password (or, unless CaseSensitive, its
// lower-cased form) is in the corpus. It hashes at most once: the list is
// all lower case, so a password with upper-case letters can only match
// in its lower-cased form.
func (e *Embedded) Contains(password string) bool {
	var buf [embeddedMaxLen]byte
	n, changed, fits := lowerInto(&buf, password)
	if !fits || !changed {
		clear(buf[:n])
		return e.has(password)
	}
	if !embeddedLowercase && e.has(password) {
		clear(buf[:n])
		return true
	}
	found := !e.caseSensitive && e.hasBytes(buf[:n])
	clear(buf[:n])
	return found
}

func (e *Embedded) has(password string) bool {
	if len(password) < embeddedMinLen || len(password) > embeddedMaxLen {
		return false // cannot be in the list: skip the hash
	}
	sum := digest(password)
	found := e.search(key64(&sum))
	clear(sum[:])
	return found
}

func (e *Embedded) hasBytes(b []byte) bool {
	if len(b) < embeddedMinLen {
		return false
	}
	return e.has(unsafe.String(unsafe.SliceData(b), len(b)))
}

func (e *Embedded) search(key uint64) bool {
	// Keys are uniform: the expected rank of key is key*n/2^64, and the
	// true rank is within a few hundred of it. Search a window around the
	// estimate, or the side it proves the key to be on.
	est := int((key >> 32) * uint64(e.n) >> 32)
	lo, hi := max(est-searchWindow, 0), min(est+searchWindow, e.n)
	if lo > 0 && e.at(lo) > key {
		lo, hi = 0, lo
	} else if hi < e.n && e.at(hi-1) < key {
		lo, hi = hi, e.n
	}
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch k := e.at(mid); {
		case k < key:
			lo = mid + 1
		case k > key:
			hi = mid
		default:
			return true
		}
	}
	return false
}

const searchWindow = 512

func (e *Embedded) at(i int) uint64 { return binary.BigEndian.Uint64(e.keys[i*8:]) }

// lowerInto writes the lower-cased password into buf and reports whether
// lower-casing changed it and whether the result fit (a result that does
// not fit is longer than any listed password).
func lowerInto(buf *[embeddedMaxLen]byte, s string) (n int, changed, fits bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
				changed = true
			}
			if n == len(buf) {
				return n, changed, false
			}
			buf[n] = c
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		l := unicode.ToLower(r)
		if l != r {
			changed = true
		}
		if n+utf8.RuneLen(l) > len(buf) {
			return n, changed, false
		}
		n += utf8.EncodeRune(buf[n:], l)
		i += size
	}
	return n, changed, true
}
