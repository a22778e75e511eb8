package velocity

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPackPending: every field of a pending evaluation but the rule fields
// (kept beside the packed form) comes back equal, whichever of the
// shortcuts (binary id, repeated values) applies.
func TestPackPending(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 7, 9, 30, 15, 123456789, time.UTC)
	keys := engine.Keys{User: "usr_0000042", IP: "203.0.113.9", Subnet: "203.0.113.0/24", Device: "d_0f3a9c2e7b1d4a58"}
	place := engine.Place{IP: keys.IP, Country: "GB", City: "London", Lat: 51.5155, Lon: -0.0922, AccuracyKm: 5, ASN: 64503, Located: true}
	fam := &familiarity.Features{IP: keys.IP, ASN: "AS64503", City: "GB/London", Country: "GB", DeviceID: keys.Device,
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", Browser: "Firefox 128", OS: "Linux", DeviceType: "desktop"}
	other := *fam
	other.IP, other.DeviceID, other.Country = "2001:db8:1:2::/64", "d_other", "IE"
	for _, tc := range []struct {
		name string
		p    engine.Pending
		max  int // bytes the packed form may take
	}{
		{name: "empty", p: engine.Pending{}, max: 32},
		{name: "engine's id, located, familiarity", max: 300,
			p: engine.Pending{EvaluationID: "0193a6f2-7c1e-7abc-8def-0123456789ab", Kind: engine.KindLogin, Keys: keys, At: at, Place: place, Familiarity: fam}},
		{name: "other id, unlocated", max: 120,
			p: engine.Pending{EvaluationID: "signin-17", Kind: "checkout.v2", Keys: keys, At: at, Place: engine.Place{IP: keys.IP}}},
		{name: "upper-case UUID kept as typed", max: 124, // 36 bytes of id as typed, and an empty slot per key (the domain_asn key added one)
			p: engine.Pending{EvaluationID: "0193A6F2-7C1E-7ABC-8DEF-0123456789AB", Kind: engine.KindMFA, Keys: keys, At: at}},
		{name: "values that differ from the keys", max: 400,
			p: engine.Pending{EvaluationID: "0193a6f2-7c1e-7abc-8def-0123456789ab", Kind: engine.KindLogin, Keys: keys, At: at,
				Place: engine.Place{IP: "198.51.100.7", Country: "NL", ASN: -1, Lat: math.Inf(1)}, Familiarity: &other}},
		{name: "zone offset", max: 120,
			p: engine.Pending{EvaluationID: "x", Kind: engine.KindLogin, At: time.Date(2026, 12, 7, 10, 0, 0, 0, time.FixedZone("", 5*3600+1800))}},
		{name: "device traits", max: 340,
			p: engine.Pending{EvaluationID: "0193a6f2-7c1e-7abc-8def-0123456789ab", Kind: engine.KindLogin, Keys: keys, At: at, Place: place, Familiarity: fam,
				Traits: engine.DeviceTraits{Platform: 1, Timezone: 1 << 31, Languages: math.MaxUint32, JA4: 77}}},
		{name: "long user agent", max: 700,
			p: engine.Pending{EvaluationID: "y", Familiarity: &familiarity.Features{UserAgent: strings.Repeat("a", familiarity.MaxUserAgentLen)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			packed := packPending(&tc.p)
			assert.LessOrEqual(t, len(packed), tc.max)
			var got engine.Pending
			require.NoError(t, unpackPending(packed, &got))
			assert.True(t, tc.p.At.Equal(got.At), "time %s, got %s", tc.p.At, got.At)
			_, wantOff := tc.p.At.Zone()
			_, gotOff := got.At.Zone()
			assert.Equal(t, wantOff, gotOff, "zone offset")
			got.At = tc.p.At
			assert.Equal(t, tc.p, got)
			assert.True(t, packedID(packed, tc.p.EvaluationID))
			assert.False(t, packedID(packed, tc.p.EvaluationID+"0"))
		})
	}
}

// TestUnpackCorrupt: a truncated packed form is an error, never a panic.
func TestUnpackCorrupt(t *testing.T) {
	t.Parallel()
	p := engine.Pending{EvaluationID: "0193a6f2-7c1e-7abc-8def-0123456789ab", Kind: engine.KindLogin,
		Keys: engine.Keys{User: "u", IP: "192.0.2.1"}, At: time.Unix(1e9, 0), Familiarity: &familiarity.Features{UserAgent: "ua"}}
	packed := packPending(&p)
	for n := range len(packed) {
		var got engine.Pending
		assert.Error(t, unpackPending(packed[:n], &got), "cut at %d", n)
	}
	var got engine.Pending
	assert.Error(t, unpackPending(packed+"x", &got), "trailing bytes")
}
