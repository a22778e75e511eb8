package velocity

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/familiarity"
)

// The memory backend keeps a pending evaluation packed into one string
// (packPending) rather than as an engine.Pending: about a thousand bytes
// per evaluation became about three hundred. The struct held some twenty
// string headers and a pointer to the familiarity features, and its
// strings could be views of the request's own (the HTTP layer's decoder
// hands out substrings of one per-request string, so a pending evaluation
// kept every string of its request alive, device descriptor and
// attributes included). The packed form copies exactly the bytes that
// RecordOutcome needs, once, and stores the evaluation id, a UUID, in its
// 16 bytes. Values that repeat another field (the place's and the
// familiarity features' address, the device id, the country) are stored
// once. unpackPending restores an equal engine.Pending (times compare
// equal; their monotonic reading is dropped, as the Redis backend's JSON
// drops it).
//
// Layout: a flags byte, the id (16 bytes, or a string), then strings
// (uvarint length, bytes: the kind and the five keys), the time (a length byte, time.MarshalBinary),
// the place's numbers when non-zero (three float64 bits, little-endian),
// the ASN (varint).
const (
	packIDBinary    = 1 << iota // the id is a canonical lower-case UUID, stored in 16 bytes
	packPlaceIP                 // Place.IP equals Keys.IP (not stored again)
	packFamiliarity             // Familiarity is set
	packFamIP                   // Familiarity.IP equals Keys.IP
	packFamDevice               // Familiarity.DeviceID equals Keys.Device
	packCoords                  // Lat, Lon and AccuracyKm are stored
	packLocated                 // Place.Located
	packFamCountry              // Familiarity.Country equals Place.Country
)

// errPackCorrupt is returned by unpackPending for input packPending cannot
// have written: a bug, never a user's doing (the packed form never leaves
// the process).
var errPackCorrupt = errors.New("velocity: corrupt packed pending evaluation")

// packPending returns p packed, without its rule fields (RuleSetVersion
// and the matched rules are kept beside it: they are shared with the rule
// set, not copied from the request).
func packPending(p *engine.Pending) string {
	var scratch [512]byte
	b := append(scratch[:0], 0)
	var flags byte
	if id, ok := parseUUID(p.EvaluationID); ok {
		flags |= packIDBinary
		b = append(b, id[:]...)
	} else {
		b = appendString(b, p.EvaluationID)
	}
	k := &p.Keys
	b = appendString(b, p.Kind)
	b = appendString(b, k.User)
	b = appendString(b, k.IP)
	b = appendString(b, k.Subnet)
	b = appendString(b, k.Device)
	b = appendString(b, k.DomainASN)
	n := len(b)
	b = append(b, 0)
	b, _ = p.At.AppendBinary(b) // fails only for a zone offset beyond ±32767 minutes, which no parsed time has
	b[n] = byte(len(b) - n - 1)

	pl := &p.Place
	if pl.IP == k.IP {
		flags |= packPlaceIP
	} else {
		b = appendString(b, pl.IP)
	}
	b = appendString(b, pl.Country)
	b = appendString(b, pl.City)
	if pl.Lat != 0 || pl.Lon != 0 || pl.AccuracyKm != 0 {
		flags |= packCoords
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(pl.Lat))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(pl.Lon))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(pl.AccuracyKm))
	}
	b = binary.AppendVarint(b, int64(pl.ASN))
	if pl.Located {
		flags |= packLocated
	}

	if x := p.Familiarity; x != nil {
		flags |= packFamiliarity
		if x.IP == k.IP {
			flags |= packFamIP
		} else {
			b = appendString(b, x.IP)
		}
		if x.DeviceID == k.Device {
			flags |= packFamDevice
		} else {
			b = appendString(b, x.DeviceID)
		}
		if x.Country == pl.Country {
			flags |= packFamCountry
		} else {
			b = appendString(b, x.Country)
		}
		b = appendString(b, x.ASN)
		b = appendString(b, x.City)
		b = appendString(b, x.UserAgent)
		b = appendString(b, x.Browser)
		b = appendString(b, x.OS)
		b = appendString(b, x.DeviceType)
	}
	// The device traits last, only when sent: five uvarints.
	if t := &p.Traits; !t.IsZero() {
		for _, v := range [...]uint32{t.Platform, t.Timezone, t.Languages, t.Screen, t.JA4} {
			b = binary.AppendUvarint(b, uint64(v))
		}
	}
	b[0] = flags
	return string(b)
}

// unpackPending restores what packPending packed into p (which the
// caller zeroed), and the rule set version beside it.
func unpackPending(s string, p *engine.Pending) error {
	r := unpacker{s: s}
	flags := r.byte()
	if flags&packIDBinary != 0 {
		var id [16]byte
		copy(id[:], r.take(16))
		p.EvaluationID = formatUUID(id)
	} else {
		p.EvaluationID = r.str()
	}
	k := &p.Keys
	p.Kind = r.str()
	k.User, k.IP, k.Subnet, k.Device, k.DomainASN = r.str(), r.str(), r.str(), r.str(), r.str()
	if err := p.At.UnmarshalBinary([]byte(r.take(int(r.byte())))); err != nil && r.err == nil {
		r.err = err
	}
	pl := &p.Place
	if flags&packPlaceIP != 0 {
		pl.IP = k.IP
	} else {
		pl.IP = r.str()
	}
	pl.Country, pl.City = r.str(), r.str()
	if flags&packCoords != 0 {
		pl.Lat, pl.Lon, pl.AccuracyKm = r.float(), r.float(), r.float()
	}
	pl.ASN = int(r.varint())
	pl.Located = flags&packLocated != 0
	if flags&packFamiliarity != 0 {
		x := new(familiarity.Features)
		x.IP, x.DeviceID, x.Country = k.IP, k.Device, pl.Country
		if flags&packFamIP == 0 {
			x.IP = r.str()
		}
		if flags&packFamDevice == 0 {
			x.DeviceID = r.str()
		}
		if flags&packFamCountry == 0 {
			x.Country = r.str()
		}
		x.ASN, x.City, x.UserAgent = r.str(), r.str(), r.str()
		x.Browser, x.OS, x.DeviceType = r.str(), r.str(), r.str()
		p.Familiarity = x
	}
	if t := &p.Traits; r.err == nil && len(r.s) > 0 {
		for _, v := range [...]*uint32{&t.Platform, &t.Timezone, &t.Languages, &t.Screen, &t.JA4} {
			*v = uint32(r.uvarint())
		}
	}
	if r.err == nil && len(r.s) != 0 {
		r.err = errPackCorrupt
	}
	return r.err
}

// packedID reports whether packed (packPending's output) is the pending
// evaluation id, without unpacking it.
func packedID(packed, id string) bool {
	if packed == "" {
		return false
	}
	if packed[0]&packIDBinary != 0 {
		u, ok := parseUUID(id)
		return ok && len(packed) >= 17 && packed[1:17] == string(u[:])
	}
	r := unpacker{s: packed[1:]}
	return r.str() == id && r.err == nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// unpacker reads packPending's fields; past a short or malformed input it
// returns zero values and keeps the first error.
type unpacker struct {
	s   string
	err error
}

func (r *unpacker) take(n int) string {
	if n < 0 || n > len(r.s) {
		r.err, r.s = errPackCorrupt, ""
		return ""
	}
	v := r.s[:n]
	r.s = r.s[n:]
	return v
}

func (r *unpacker) byte() byte {
	if v := r.take(1); v != "" {
		return v[0]
	}
	return 0
}

func (r *unpacker) uvarint() uint64 {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.err = errPackCorrupt
	return 0
}

func (r *unpacker) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (r *unpacker) str() string {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.err, r.s = errPackCorrupt, ""
		return ""
	}
	// A copy per field: what unpackPending returns outlives the entry
	// (a profile keeps the device id and the place), and a view would keep
	// the whole packed string alive with it.
	return strings.Clone(r.take(int(n)))
}

func (r *unpacker) float() float64 {
	v := r.take(8)
	if len(v) != 8 {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64([]byte(v)))
}

// parseUUID decodes a UUID in the canonical lower-case form the engine
// gives evaluation ids (8-4-4-4-12 hex digits); ok is false for any other
// string, which then is stored as it is.
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if s[i] == '-' {
			i++
			continue
		}
		hi, ok1 := fromHex(s[i])
		lo, ok2 := fromHex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		i, j = i+2, j+1
	}
	return u, true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// formatUUID is parseUUID's inverse.
func formatUUID(u [16]byte) string {
	const digits = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = digits[c>>4], digits[c&0xf]
		j += 2
	}
	return string(b[:])
}
