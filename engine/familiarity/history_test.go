package familiarity

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// typicalHistory is a user of a few months: a home and a work network, a
// laptop and a phone, a browser upgrade, 40 logins.
func typicalHistory(t testing.TB, m *Model) *History {
	t.Helper()
	h := new(History)
	work := with(home, func(x *Features) { x.IP, x.ASN = "192.0.2.10", "AS680" })
	phone := with(home, func(x *Features) {
		x.IP, x.ASN = "100.64.3.4", "AS3209"
		x.DeviceID, x.UserAgent, x.Browser, x.OS, x.DeviceType = "d_phone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)", "Safari 17", "iOS 17", "mobile"
	})
	upgraded := with(home, func(x *Features) {
		x.UserAgent, x.Browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/132", "Chrome 132"
	})
	at := t0
	for i := range 40 {
		x := []Features{home, work, phone, upgraded}[i%4]
		m.Observe(h, x, at)
		at = at.Add(50 * time.Hour)
	}
	return h
}

// TestHistoryBounded checks that a user with 10,000 distinct IPs keeps at
// most Cap values per feature and that the encoding stays bounded.
func TestHistoryBounded(t *testing.T) {
	t.Parallel()
	for _, capacity := range []int{1, 4, 16} {
		t.Run(fmt.Sprint("cap ", capacity), func(t *testing.T) {
			t.Parallel()
			m := newModel(t, Config{Cap: capacity})
			h := new(History)
			for i := range 10000 {
				x := home
				x.IP = fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255)
				x.UserAgent = fmt.Sprintf("agent %d", i)
				x.DeviceID = fmt.Sprintf("d_%d", i)
				m.Observe(h, x, t0.Add(time.Duration(i)*time.Minute))
			}
			for f := Feature(0); f < NumFeatures; f++ {
				assert.LessOrEqual(t, h.Len(f), capacity, f.String())
			}
			assert.Equal(t, capacity, h.Len(FeatureIP))
			assert.EqualValues(t, 10000, h.Logins())
			b, err := h.MarshalBinary()
			require.NoError(t, err)
			assert.Len(t, b, h.EncodedLen())
			maxLen := 2 + binary.MaxVarintLen64*2 + 4 + NumFeatures*(1+capacity*entrySize)
			assert.LessOrEqual(t, len(b), maxLen)
			// The newest IP is kept: the next login from it is familiar.
			last := home
			last.IP = fmt.Sprintf("10.%d.%d.%d", 9999>>16, (9999>>8)&255, 9999&255)
			r := m.Score(h, world, last, t0.Add(10000*time.Minute))
			assert.True(t, r.Features[FeatureIP].Seen)
		})
	}
}

// TestEvictionKeepsHabits checks that eviction drops the least weighted
// value: a home IP used every other login survives a stream of one-off IPs.
func TestEvictionKeepsHabits(t *testing.T) {
	t.Parallel()
	m := newModel(t, Config{Cap: 4})
	h := new(History)
	for i := range 200 {
		x := home
		if i%2 == 1 {
			x.IP = fmt.Sprintf("203.0.113.%d", i)
		}
		m.Observe(h, x, t0.Add(time.Duration(i)*time.Hour))
	}
	r := m.Score(h, world, home, t0.Add(200*time.Hour))
	assert.True(t, r.Features[FeatureIP].Seen)
	want := 0.0 // 100 logins at even hours, decayed to hour 200
	for i := 0; i < 200; i += 2 {
		want += math.Exp2(-float64(200-i) / (90 * 24))
	}
	assert.InDelta(t, want, r.Features[FeatureIP].UserWeight, 1e-3)
	// A value never seen is never reported as seen, whatever was evicted.
	r = m.Score(h, world, newIP, t0.Add(200*time.Hour))
	assert.False(t, r.Features[FeatureIP].Seen)
}

// TestHistorySizes reports (and bounds) the encoded sizes of a typical and
// a full history.
func TestHistorySizes(t *testing.T) {
	t.Parallel()
	m := newModel(t, Config{})
	typical := typicalHistory(t, m)
	full := new(History)
	for i := range 1000 {
		x := Features{}
		for f := Feature(0); f < NumFeatures; f++ {
			// Each value distinct; the newest 16 per feature are kept.
			*fieldOf(&x, f) = fmt.Sprint(f, i)
		}
		m.Observe(full, x, t0.Add(time.Duration(i)*time.Hour))
	}
	tb, err := typical.MarshalBinary()
	require.NoError(t, err)
	fb, err := full.MarshalBinary()
	require.NoError(t, err)
	t.Logf("encoded history: empty 17 B, typical (40 logins, 2-4 values per feature) %d B, full (16 values × 9 features) %d B", len(tb), len(fb))
	assert.LessOrEqual(t, len(tb), 300)
	assert.LessOrEqual(t, len(fb), 35+108*16)
	empty, err := new(History).MarshalBinary()
	require.NoError(t, err)
	assert.Len(t, empty, 17)
}

func fieldOf(x *Features, f Feature) *string {
	return [...]*string{&x.IP, &x.ASN, &x.City, &x.Country, &x.DeviceID, &x.UserAgent, &x.Browser, &x.OS, &x.DeviceType}[f]
}

// TestHistoryRoundTrip checks that decoding an encoding gives the same
// history and the same scores.
func TestHistoryRoundTrip(t *testing.T) {
	t.Parallel()
	m := newModel(t, Config{})
	for name, h := range map[string]*History{
		"empty":   new(History),
		"ten":     tenAtHome(t, m),
		"typical": typicalHistory(t, m),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, err := h.MarshalBinary()
			require.NoError(t, err)
			var got History
			require.NoError(t, got.UnmarshalBinary(b))
			assert.Equal(t, *h, normalised(got))
			at := t0.Add(100 * 24 * time.Hour)
			assert.Equal(t, m.Score(h, world, abroad, at), m.Score(&got, world, abroad, at))
			b2, err := got.AppendBinary([]byte("prefix"))
			require.NoError(t, err)
			assert.Equal(t, b, b2[len("prefix"):])
		})
	}
}

// normalised makes empty value lists nil, as a fresh History has them.
func normalised(h History) History {
	for i := range h.vals {
		if len(h.vals[i]) == 0 {
			h.vals[i] = nil
		}
	}
	return h
}

// TestUnmarshalCorrupt checks that bad encodings are errors and leave the
// history unchanged.
func TestUnmarshalCorrupt(t *testing.T) {
	t.Parallel()
	m := newModel(t, Config{})
	good, err := tenAtHome(t, m).MarshalBinary()
	require.NoError(t, err)
	// Offset of the first weight: header 2, at (varint of ~1.79e9: 5 bytes),
	// logins 1, total 4, count 1, hash 8.
	firstWeight := 2 + 5 + 1 + 4 + 1 + 8
	setWeight := func(w float32) []byte {
		b := append([]byte(nil), good...)
		binary.LittleEndian.PutUint32(b[firstWeight:], math.Float32bits(w))
		return b
	}
	dup := func() []byte {
		// Two entries of the same hash for the IP: count 2, same entry twice.
		h := tenAtHome(t, m)
		h.vals[FeatureIP] = append(h.vals[FeatureIP], h.vals[FeatureIP][0])
		b, _ := h.MarshalBinary()
		return b
	}
	noLogins := func() []byte {
		h := tenAtHome(t, m)
		h.logins = 0
		b, _ := h.MarshalBinary()
		return b
	}
	tooMany := append(append([]byte(nil), good[:2+5+1+4]...), binary.AppendUvarint(nil, MaxCap+1)...)
	cases := []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"one byte", []byte{'F'}},
		{"wrong magic", append([]byte{'X'}, good[1:]...)},
		{"wrong version", append([]byte{'F', 9}, good[2:]...)},
		{"truncated", good[:len(good)-1]},
		{"truncated header", good[:4]},
		{"trailing", append(append([]byte(nil), good...), 0)},
		{"negative weight", setWeight(-1)},
		{"NaN weight", setWeight(float32(math.NaN()))},
		{"infinite weight", setWeight(float32(math.Inf(1)))},
		{"huge weight", setWeight(1e30)},
		{"duplicate value", dup()},
		{"values without logins", noLogins()},
		{"too many values", tooMany},
		{"bad varint", []byte{'F', 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := tenAtHome(t, m)
			before := *h
			err := h.UnmarshalBinary(c.b)
			require.ErrorIs(t, err, ErrCorrupt)
			assert.Equal(t, before, *h)
		})
	}
}
