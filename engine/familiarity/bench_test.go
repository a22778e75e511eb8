package familiarity

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/signals/device/ualabel"
)

// BenchmarkScore scores a login against a typical history and an
// in-memory Global.
func BenchmarkScore(b *testing.B) {
	m := newModel(b, Config{})
	h := typicalHistory(b, m)
	g := newGlobal(b, GlobalConfig{})
	for range 1000 {
		g.Add(home)
	}
	at := t0.Add(200 * 24 * time.Hour)
	for _, c := range []struct {
		name string
		g    GlobalReader
	}{{"global", g}, {"prefetched", g.Lookup(abroad)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = m.Score(h, c.g, abroad, at)
			}
		})
	}
}

// BenchmarkObserve records a login in a full history (every feature at
// the cap, so each observation evicts).
func BenchmarkObserve(b *testing.B) {
	m := newModel(b, Config{})
	h := new(History)
	xs := make([]Features, 64)
	for i := range xs {
		for f := Feature(0); f < NumFeatures; f++ {
			*fieldOf(&xs[i], f) = f.String() + string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
	}
	for i, x := range xs {
		m.Observe(h, x, t0.Add(time.Duration(i)*time.Hour))
	}
	at := t0.Add(100 * time.Hour)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		at = at.Add(time.Minute)
		m.Observe(h, xs[i%len(xs)], at)
		i++
	}
}

// BenchmarkDecode decodes a typical and a full history.
func BenchmarkDecode(b *testing.B) {
	m := newModel(b, Config{})
	full := new(History)
	for i := range 1000 {
		var x Features
		for f := Feature(0); f < NumFeatures; f++ {
			*fieldOf(&x, f) = f.String() + string(rune(i))
		}
		m.Observe(full, x, t0.Add(time.Duration(i)*time.Hour))
	}
	for name, h := range map[string]*History{"typical": typicalHistory(b, m), "full": full} {
		enc, err := h.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(enc)))
			var got History
			for b.Loop() {
				if err := got.UnmarshalBinary(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode encodes a typical history into a reused buffer.
func BenchmarkEncode(b *testing.B) {
	m := newModel(b, Config{})
	h := typicalHistory(b, m)
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = h.AppendBinary(buf[:0])
	}
}

// BenchmarkGlobalAdd counts one login in the default-sized sketch.
func BenchmarkGlobalAdd(b *testing.B) {
	g := newGlobal(b, GlobalConfig{})
	b.ReportAllocs()
	for b.Loop() {
		g.Add(home)
	}
}

// BenchmarkExtract parses a user agent and normalises a login's inputs.
func BenchmarkExtract(b *testing.B) {
	e := NewExtractor(ualabel.NewCache(0).ReleaseLabels)
	in := Input{IP: "198.51.100.7", ASN: 3320, Country: "DE", City: "Berlin", DeviceID: "d_1",
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"}
	b.ReportAllocs()
	for b.Loop() {
		_ = e.Extract(in)
	}
}
