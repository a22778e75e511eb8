package familiarity

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeGlobal is a GlobalReader with exact counts chosen by the test.
type fakeGlobal struct {
	counts       map[Feature]map[string]uint64
	total, users uint64
}

func (g fakeGlobal) Lookup(x Features) Counts {
	c := Counts{Total: g.total, Users: g.users}
	for f := Feature(0); f < NumFeatures; f++ {
		c.Freq[f] = g.counts[f][x.Value(f)]
	}
	return c
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// home is the user's usual login; abroad changes the whole network group.
var (
	home = Features{
		IP: "198.51.100.7", ASN: "AS3320", City: "DE/Berlin", Country: "DE",
		DeviceID: "d_0123456789abcdef0123456789abcdef", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131",
		Browser: "Chrome 131", OS: "Windows 10.0", DeviceType: "desktop",
	}
	abroad = with(home, func(x *Features) {
		x.IP, x.ASN, x.City, x.Country = "203.0.113.9", "AS7922", "US/Boston", "US"
	})
	newIP = with(home, func(x *Features) { x.IP = "198.51.100.99" })
)

func with(x Features, edit func(*Features)) Features {
	edit(&x)
	return x
}

// world has N = 100000 logins by 1000 users (100 per user on average).
var world = fakeGlobal{
	total: 100000, users: 1000,
	counts: map[Feature]map[string]uint64{
		FeatureIP:         {home.IP: 10},
		FeatureASN:        {home.ASN: 5000, abroad.ASN: 300},
		FeatureCity:       {home.City: 2000, abroad.City: 100},
		FeatureCountry:    {home.Country: 30000, abroad.Country: 1000},
		FeatureDeviceID:   {home.DeviceID: 10},
		FeatureUserAgent:  {home.UserAgent: 3000},
		FeatureBrowser:    {home.Browser: 20000},
		FeatureOS:         {home.OS: 40000},
		FeatureDeviceType: {home.DeviceType: 70000},
	},
}

func newModel(t testing.TB, cfg Config) *Model {
	t.Helper()
	m, err := New(cfg)
	require.NoError(t, err)
	return m
}

// tenAtHome is a history of 10 logins from home, all at t0.
func tenAtHome(t testing.TB, m *Model) *History {
	t.Helper()
	h := new(History)
	for range 10 {
		m.Observe(h, home, t0)
	}
	return h
}

// TestScoreHandComputed checks the arithmetic on a user with 10 logins
// from one IP/ASN/city/country and one device (n = 10, one kept value per
// feature, no decay since every login is at t0), in a world of N = 100000
// logins by 1000 users.
//
// User probabilities, p_u = (c+1)/(n + U + k), U = 1 + values kept at the
// less specific levels of the group, k = values kept at this level (1):
//
//	network: ip 11/15, asn 11/14, city 11/13, country 11/12   (unseen: 1/15, 1/14, 1/13, 1/12)
//	device:  device 11/12
//	client:  ua 11/15, browser 11/14, os 11/13, type 11/12
//
// Global probabilities, p_g = max(count,1)/(N+1).
//
// Familiar login (home):
//
//	P_g(net) = (0.6·10 + 0.2·5000 + 0.1·2000 + 0.1·30000)/100001 = 4206/100001 = 0.0420596
//	P_u(net) = 0.6·11/15 + 0.2·11/14 + 0.1·11/13 + 0.1·11/12      = 0.7734249
//	log10(P_g/P_u) = -1.2645532
//	device: log10((10/100001) / (11/12)) = -3.9622158
//	P_g(cli) = (0.5387·3000 + 0.2680·20000 + 0.1882·40000 + 0.0051·70000)/100001 = 14861.1/100001 = 0.1486095
//	P_u(cli) = 0.5387·11/15 + 0.2680·11/14 + 0.1882·11/13 + 0.0051·11/12          = 0.7695392
//	log10(P_g/P_u) = -0.7141842
//	prior = log10(N / (users · logins)) = log10(100000 / (1000·10)) = 1
//	score = 1 - 1.2645532 - 3.9622158 - 0.7141842 = -4.9409532
//
// New IP, same ASN/city/country:
//
//	P_g(net) = (0.6·1 + 0.2·5000 + 0.1·2000 + 0.1·30000)/100001 = 0.0420056
//	P_u(net) = 0.6·1/15 + 0.2·11/14 + 0.1·11/13 + 0.1·11/12     = 0.3734249
//	log10 = -0.9488963; score = 1 - 0.9488963 - 3.9622158 - 0.7141842 = -4.6252962
//
// New country (new IP, ASN, city and country; same device):
//
//	smoothed: P_g(net) = (0.6·1 + 0.2·300 + 0.1·100 + 0.1·1000)/100001 = 0.0017060
//	          P_u(net) = 0.6/15 + 0.2/14 + 0.1/13 + 0.1/12 = 0.0703114, ratio 0.0243
//	no network value seen and ratio < 4: the novelty rule makes it 4, log10 4 = 0.6020600
//	score = 1 + 0.6020600 - 3.9622158 - 0.7141842 = -3.0743400
//
// New country and a new device (the naive attacker with the right user agent):
//
//	device: never seen, smoothed ratio (1/100001)/(1/12) < 4: novelty, +0.6020600
//	score = 1 + 0.6020600 + 0.6020600 - 0.7141842 = 1.4899358
func TestScoreHandComputed(t *testing.T) {
	t.Parallel()
	m := newModel(t, Config{})
	netFamiliar := math.Log10((4206.0 / 100001) / (0.6*11/15 + 0.2*11/14 + 0.1*11/13 + 0.1*11/12))
	device := math.Log10((10.0 / 100001) / (11.0 / 12))
	client := math.Log10((14861.1 / 100001) / (0.5387*11/15 + 0.2680*11/14 + 0.1882*11/13 + 0.0051*11/12))
	netNewIP := math.Log10(((0.6 + 0.2*5000 + 0.1*2000 + 0.1*30000) / 100001) / (0.6/15 + 0.2*11/14 + 0.1*11/13 + 0.1*11/12))
	novel := math.Log10(4)
	attacker := with(abroad, func(x *Features) { x.DeviceID = "d_attacker" })
	cases := []struct {
		name    string
		x       Features
		want    float64 // from the formula
		approx  float64 // the decimal written out above
		network float64
	}{
		{"familiar", home, 1 + netFamiliar + device + client, -4.9409532, netFamiliar},
		{"new IP", newIP, 1 + netNewIP + device + client, -4.6252962, netNewIP},
		{"new country", abroad, 1 + novel + device + client, -3.0743400, novel},
		{"new country and device", attacker, 1 + novel + novel + client, 1.4899358, novel},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := tenAtHome(t, m)
			r := m.Score(h, world, c.x, t0)
			assert.InDelta(t, c.want, r.Score, 1e-9)
			assert.InDelta(t, c.approx, r.Score, 1e-6)
			assert.InDelta(t, 1.0, r.Prior, 1e-12)
			assert.False(t, r.ColdStart)
			assert.EqualValues(t, 10, r.Logins)
			assert.InDelta(t, 10, r.Weight, 1e-6)
			var net, sum float64
			for f := FeatureIP; f < FeatureDeviceID; f++ {
				net += r.Features[f].Contribution
			}
			for _, cf := range r.Features {
				sum += cf.Contribution
			}
			assert.InDelta(t, c.network, net, 1e-9, "network contributions add up to its log ratio")
			assert.InDelta(t, r.Score, r.Prior+sum, 1e-9, "contributions add up to the score")
		})
	}
}

// TestContributionsExplain checks that the evidence points at what changed:
// abroad, the country's contribution is positive and larger than the
// familiar device's, which is negative.
func TestContributionsExplain(t *testing.T) {
	t.Parallel()
	m := newModel(t, Config{})
	h := tenAtHome(t, m)
	r := m.Score(h, world, abroad, t0)
	country := r.Features[FeatureCountry]
	assert.Equal(t, "US", country.Value)
	assert.False(t, country.Seen)
	assert.EqualValues(t, 1000, country.GlobalCount)
	assert.InDelta(t, 1000.0/100001, country.GlobalProb, 1e-12)
	assert.Greater(t, country.Contribution, 0.0)
	for f := FeatureIP; f < FeatureDeviceID; f++ {
		// Nothing of the network group is familiar: the novelty rule puts
		// every level at 4 times likelier for an attacker.
		assert.Positive(t, r.Features[f].Contribution, f.String())
		assert.InDelta(t, r.Features[f].GlobalProb/4, r.Features[f].UserProb, 1e-15, f.String())
	}
	assert.Greater(t, country.Contribution, r.Features[FeatureIP].Contribution,
		"a common country weighs more than a never-seen IP")
	dev := r.Features[FeatureDeviceID]
	assert.True(t, dev.Seen)
	assert.InDelta(t, 10, dev.UserWeight, 1e-6)
	assert.InDelta(t, 11.0/12, dev.UserProb, 1e-12)
	assert.Less(t, dev.Contribution, 0.0)
	ranked := r.Ranked()
	assert.Equal(t, FeatureCountry, ranked[0].Feature, "the country explains most")
	assert.Equal(t, FeatureDeviceID, ranked[NumFeatures-1].Feature, "the known device reassures most")
	for i := 1; i < NumFeatures; i++ {
		assert.GreaterOrEqual(t, ranked[i-1].Contribution, ranked[i].Contribution)
	}
}

// TestSmoothingUnseen checks Freeman's smoothing of values the user has
// not used: positive, the same for every unseen value, smaller than any
// seen value, and with U counting the distinct values of the less specific
// levels.
func TestSmoothingUnseen(t *testing.T) {
	t.Parallel()
	m := newModel(t, Config{})
	h := new(History)
	// Three logins: two from home, one from a second ASN in the same city
	// and country. Kept values: ip 2, asn 2, city 1, country 1.
	m.Observe(h, home, t0)
	m.Observe(h, home, t0)
	m.Observe(h, with(home, func(x *Features) { x.IP, x.ASN = "192.0.2.1", "AS6805" }), t0)
	cases := []struct {
		name string
		f    Feature
		x    Features
		want float64
	}{
		// ip: n=3, U = 1 + asn(2) + city(1) + country(1) = 5, k = 2.
		{"ip unseen", FeatureIP, newIP, 1.0 / (3 + 5 + 2)},
		{"ip seen twice", FeatureIP, home, 3.0 / 10},
		{"ip seen once", FeatureIP, with(home, func(x *Features) { x.IP = "192.0.2.1" }), 2.0 / 10},
		// asn: U = 1 + 1 + 1 = 3, k = 2: unseen 1/8.
		{"asn unseen", FeatureASN, with(home, func(x *Features) { x.ASN = "AS7922" }), 1.0 / (3 + 3 + 2)},
		// country: U = 1, k = 1: unseen 1/5, seen (3+1)/5.
		{"country seen", FeatureCountry, home, 4.0 / 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := m.Score(h, world, c.x, t0)
			assert.InDelta(t, c.want, r.Features[c.f].UserProb, 1e-12)
		})
	}
	t.Run("unseen globally", func(t *testing.T) {
		t.Parallel()
		r := m.Score(h, world, newIP, t0)
		assert.EqualValues(t, 0, r.Features[FeatureIP].GlobalCount)
		assert.InDelta(t, 1.0/100001, r.Features[FeatureIP].GlobalProb, 1e-15)
		assert.False(t, math.IsInf(r.Score, 0) || math.IsNaN(r.Score))
	})
}

// TestColdStart checks the documented cold-start rule.
func TestColdStart(t *testing.T) {
	t.Parallel()
	m := newModel(t, Config{})
	one := new(History)
	m.Observe(one, home, t0)
	cases := []struct {
		name      string
		h         *History
		g         GlobalReader
		cold      bool
		zeroScore bool
	}{
		{"nil history", nil, world, true, true},
		{"empty history", new(History), world, true, true},
		{"one login", one, world, true, false},
		{"ten logins", tenAtHome(t, m), world, false, false},
		{"ten logins, young global", tenAtHome(t, m), Counts{Total: 999, Users: 10}, true, false},
		{"ten logins, no global", tenAtHome(t, m), Counts{}, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := m.Score(c.h, c.g, abroad, t0)
			assert.Equal(t, c.cold, r.ColdStart)
			if c.zeroScore {
				assert.Zero(t, r.Score)
				assert.Equal(t, "US", r.Features[FeatureCountry].Value, "values are reported")
				for _, cf := range r.Features {
					assert.Zero(t, cf.Contribution)
				}
			} else {
				assert.NotZero(t, r.Score)
				assert.False(t, math.IsInf(r.Score, 0) || math.IsNaN(r.Score))
			}
		})
	}
	t.Run("no global counts: prior is 0", func(t *testing.T) {
		t.Parallel()
		r := m.Score(tenAtHome(t, m), Counts{}, home, t0)
		assert.Zero(t, r.Prior)
	})
}

// TestDecay checks that a value seen a year ago weighs less than one seen
// yesterday, and the half-life arithmetic.
func TestDecay(t *testing.T) {
	t.Parallel()
	m := newModel(t, Config{})
	now := t0.Add(365 * 24 * time.Hour)
	old := with(home, func(x *Features) { x.IP = "192.0.2.50" })
	h := new(History)
	for range 5 {
		m.Observe(h, old, t0)
	}
	for range 5 {
		m.Observe(h, home, now.Add(-24*time.Hour))
	}
	rOld := m.Score(h, world, old, now)
	rNew := m.Score(h, world, home, now)
	// 5 logins decayed by 365 days = 4.06 half-lives: 5·2^-4.06 = 0.30.
	assert.InDelta(t, 5*math.Exp2(-365.0/90), rOld.Features[FeatureIP].UserWeight, 1e-5)
	assert.InDelta(t, 5*math.Exp2(-1.0/90), rNew.Features[FeatureIP].UserWeight, 1e-5)
	assert.Less(t, rOld.Features[FeatureIP].UserProb, rNew.Features[FeatureIP].UserProb)
	assert.Greater(t, rOld.Features[FeatureIP].Contribution, rNew.Features[FeatureIP].Contribution)
	assert.Greater(t, rOld.Score, rNew.Score, "the year-old IP is less familiar")

	t.Run("half-life", func(t *testing.T) {
		t.Parallel()
		h := new(History)
		m.Observe(h, home, t0)
		r := m.Score(h, world, home, t0.Add(90*24*time.Hour))
		assert.InDelta(t, 0.5, r.Weight, 1e-6)
		assert.InDelta(t, 0.5, r.Features[FeatureCountry].UserWeight, 1e-6)
	})
	t.Run("pruned after many half-lives", func(t *testing.T) {
		t.Parallel()
		h := new(History)
		m.Observe(h, old, t0)
		m.Observe(h, home, t0.Add(5*90*24*time.Hour)) // old: 1/32 < 0.05
		assert.Equal(t, 1, h.Len(FeatureIP))
		assert.EqualValues(t, 2, h.Logins())
	})
	t.Run("out of order does not grow weights", func(t *testing.T) {
		t.Parallel()
		h := new(History)
		m.Observe(h, home, t0)
		m.Observe(h, home, t0.Add(-time.Hour))
		r := m.Score(h, world, home, t0.Add(-2*time.Hour))
		assert.InDelta(t, 2, r.Weight, 1e-6)
	})
}

// TestConfig checks New's validation.
func TestConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero is defaults", Config{}, true},
		{"negative half-life", Config{HalfLife: -time.Hour}, false},
		{"cap too large", Config{Cap: MaxCap + 1}, false},
		{"negative cap", Config{Cap: -1}, false},
		{"min weight 1", Config{MinWeight: 1}, false},
		{"novelty below 1", Config{NoveltyFactor: 0.5}, false},
		{"negative weight", Config{Weights: [NumFeatures]float64{FeatureIP: -1, FeatureDeviceID: 1}}, false},
		{"empty group", Config{Weights: [NumFeatures]float64{FeatureIP: 1}}, false},
		{"NaN weight", Config{Weights: [NumFeatures]float64{FeatureIP: math.NaN(), FeatureDeviceID: 1}}, false},
		{"one level per group", Config{Weights: [NumFeatures]float64{FeatureCountry: 1, FeatureDeviceID: 1, FeatureOS: 1}}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m, err := New(c.cfg)
			if c.ok {
				require.NoError(t, err)
				assert.Positive(t, m.Config().Cap)
			} else {
				require.ErrorIs(t, err, ErrConfig)
			}
		})
	}
}
