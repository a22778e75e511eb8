package familiarity

import (
	"testing"
	"time"
)

// FuzzUnmarshalHistory feeds arbitrary bytes to History.UnmarshalBinary:
// it must return an error or a history that re-encodes, decodes to the
// same history, and can be scored and observed without panicking or
// producing NaN.
func FuzzUnmarshalHistory(f *testing.F) {
	m, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	for _, h := range []*History{new(History), tenAtHome(f, m), typicalHistory(f, m)} {
		b, err := h.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{'F', 1})
	f.Add([]byte{'F', 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h History
		if err := h.UnmarshalBinary(b); err != nil {
			return
		}
		enc, err := h.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var again History
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded history does not decode: %v", err)
		}
		for _, at := range []time.Time{t0, time.Unix(0, 0), time.Unix(1<<40, 0)} {
			r := m.Score(&h, world, abroad, at)
			if r.Score != r.Score { // NaN
				t.Fatalf("NaN score for %x at %v", b, at)
			}
		}
		m.Observe(&h, home, t0)
		for f := Feature(0); f < NumFeatures; f++ {
			if h.Len(f) > MaxCap {
				t.Fatalf("%s has %d values", f, h.Len(f))
			}
		}
	})
}

// FuzzUnmarshalGlobal feeds arbitrary bytes to Global.UnmarshalBinary,
// which loads snapshots from storage: an error, or a sketch that answers
// lookups and re-encodes to the same bytes.
func FuzzUnmarshalGlobal(f *testing.F) {
	g, err := NewGlobal(GlobalConfig{Width: 1 << 8, Depth: 1})
	if err != nil {
		f.Fatal(err)
	}
	g.Add(home)
	g.AddUser()
	b, err := g.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:globalHeader])
	f.Fuzz(func(t *testing.T, b []byte) {
		var g Global
		if err := g.UnmarshalBinary(b); err != nil {
			return
		}
		_ = g.Lookup(abroad)
		out, err := g.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != string(b) {
			t.Fatalf("snapshot does not round-trip")
		}
	})
}
