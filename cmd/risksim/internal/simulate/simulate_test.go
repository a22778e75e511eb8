package simulate

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/signals/breached"
	"github.com/riskauth/riskauth/signals/device/ualabel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// fixtureRun runs a seeded simulation on the bundled geo fixture (never
// the real-data cache, so that the figures do not depend on it).
func fixtureRun(t *testing.T, cfg Config) *Report {
	t.Helper()
	cfg.GeoDir = "" // the fixture, whatever the cache holds
	s, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	rep, err := s.Run(context.Background(), nil)
	require.NoError(t, err)
	return rep
}

// TestBands runs 300 users and 20,000 legitimate logins (the default
// rules, the geo fixture) for seeds 1-5 and holds the rates to bands. The
// bands were set from those five runs with the tuned default rules
// (docs/detection.md, "After tuning" and "With the familiarity score",
// has the figures): wide enough that a
// change of seed stays inside, narrow enough that a rule set that stops
// catching an attacker model, or one that challenges established users,
// fails. No legitimate user may be blocked: account novelty adds up to 55
// at most and the fixture's VPN exit (flagged anonymous, 20) keeps a VPN
// user with every novelty sign at 75, below block. 300 users are few: one
// heavy user moves a seed's legitimate rates by points, hence the headroom
// (before tuning, a heavy user with a breached password put seed 2 at 7.7%
// re-authentication with 30+ logins). If a rule or model change moves a
// figure out of its band on purpose, rerun the seeds and update the bands
// and the docs together.
func TestBands(t *testing.T) {
	if testing.Short() {
		t.Skip("five 20,000-login simulations")
	}
	t.Parallel()
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			rep := fixtureRun(t, Config{Seed: seed, Users: 300, Logins: 20_000, Attacks: 100})
			byModel := map[Model]AttackRow{}
			for _, a := range rep.Attacks {
				byModel[a.Model] = a
			}
			// Every takeover attempt comes from a new device on a new
			// network (the fixture's IPv6 networks give every address its
			// own /64): new-device and new-network reach the step-up
			// threshold. (With real data the very targeted attacker at
			// times has the victim's own last address and is missed; see
			// docs/detection.md.)
			for _, m := range ATOModels {
				assert.GreaterOrEqual(t, byModel[m].TPR, 0.97, "%s TPR", m)
				assert.Equal(t, 100, byModel[m].Attempts, "%s attempts", m)
			}
			// Waves: the first attempts of each address pass until the
			// per-IP counters reach their thresholds (observed 0.980-0.993
			// and 1.0).
			assert.GreaterOrEqual(t, byModel[Stuffing].TPR, 0.9, "stuffing TPR")
			assert.GreaterOrEqual(t, byModel[Spraying].TPR, 0.95, "spraying TPR")
			// Legitimate users: established users are rarely challenged,
			// new ones more often (observed with unfamiliar-login: 1-2
			// logins 12.8-16.5%, 3-9 9.3-10.8%, 10-29 2.0-3.0%, 30+
			// 0.6-0.7%, overall 2.2-2.4%, median 0-0.5%, nobody blocked;
			// without it 3-9 was 3.0-4.2%, 10-29 1.0-1.4%, overall
			// 1.2-1.3%: a new phone of a user with a short history is
			// unfamiliar on the fixture's dozen places).
			//
			// With the replayed-cookie rules of issue 24 (a known device
			// on a network new to the user, abroad or with 10 or more
			// logins, steps up) the fixture's dozen places cost far more
			// than the real data: every trip, VPN exit and work or carrier
			// network is one of a few networks shared by everybody, often
			// abroad (observed 1-2 15.6-18.6%, 3-9 15.4-21.4%, 10-29
			// 5.1-11.0%, 30+ 1.5-3.3%, overall 3.9-6.6%, median
			// 0.6-2.0%).
			//
			// The device-level rules (device-impossible-travel,
			// device-new-network-recent, young-account-unfamiliar-device)
			// raise 1-2 logins to 19.6-22.6% on the fixture.
			assert.InDelta(t, 0.20, rep.Legit[1].ReauthRate, 0.06, "re-auth with 1-2 logins")
			assert.LessOrEqual(t, rep.Legit[2].ReauthRate, 0.28, "re-auth with 3-9 logins")
			assert.LessOrEqual(t, rep.Legit[3].ReauthRate, 0.15, "re-auth with 10-29 logins")
			assert.LessOrEqual(t, rep.Legit[4].ReauthRate, 0.05, "re-auth with 30+ logins")
			assert.LessOrEqual(t, rep.LegitAll.ReauthRate, 0.09, "re-auth overall")
			// The replay models (observed: cookie replay in the city
			// 0.43-0.52, abroad 0.97-1.00, same network 0.94-0.98,
			// session theft 0.63-0.73).
			assert.GreaterOrEqual(t, byModel[CookieReplayCity].TPR, 0.3, "cookie replay, city")
			assert.GreaterOrEqual(t, byModel[CookieReplayAbroad].TPR, 0.9, "cookie replay, abroad")
			assert.GreaterOrEqual(t, byModel[SameNetwork].TPR, 0.88, "same network")
			assert.GreaterOrEqual(t, byModel[SessionTheft].TPR, 0.5, "session theft")
			// Active-device replays (observed 0.36-0.52 in the city,
			// 0.80-0.99 abroad: the fixture's few places are shared).
			//
			// With email domains and the time-of-day cycle every figure
			// stays in its band (observed: 1-2 logins 19.8-21.5%, 3-9
			// 14.7-20.9%, 10-29 5.3-9.0%, 30+ 1.3-3.7%, overall
			// 3.9-6.4%, median 1.3-1.8%; cookie replay in the city
			// 0.32-0.51, abroad 0.96-0.99, same network 0.95-1.00,
			// session theft 0.59-0.75, active city 0.38-0.52, active
			// abroad 0.88-0.99); the city replay's lowest seed is near
			// its band: the hours move which victims are replayed when.
			assert.GreaterOrEqual(t, byModel[CookieReplayActiveCity].TPR, 0.25, "active cookie replay, city")
			assert.GreaterOrEqual(t, byModel[CookieReplayActiveAbroad].TPR, 0.7, "active cookie replay, abroad")
			assert.Zero(t, rep.LegitAll.BlockRate, "block rate overall")
			assert.LessOrEqual(t, rep.Median.Rules, 0.05, "median per-user re-auth, history ≥ 10")
			assert.Zero(t, rep.BlockedUsers, "legitimate users blocked")
			// The familiarity model at -2: established users below,
			// attackers above (observed TPR ≥ 0.97 for every model; 1-2
			// logins 24.9-28.9%, 10-29 1.8-2.6%, 30+ 0.5-0.8%).
			assert.InDelta(t, 0.28, rep.Legit[1].FamRate, 0.1, "familiarity re-auth with 1-2 logins")
			assert.LessOrEqual(t, rep.Legit[3].FamRate, 0.05, "familiarity re-auth with 10-29 logins")
			assert.LessOrEqual(t, rep.Legit[4].FamRate, 0.05, "familiarity re-auth with 30+ logins")
			for _, m := range ATOModels {
				assert.GreaterOrEqual(t, *byModel[m].FamTPR, 0.9, "%s familiarity TPR", m)
			}
			assert.Equal(t, 20_000, rep.Totals.LegitLogins)
		})
	}
}

// TestDeterministic: the same seed gives byte-identical JSON, another seed
// another report.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	run := func(seed uint64) []byte {
		rep := fixtureRun(t, Config{Seed: seed, Users: 60, Logins: 2_000, Attacks: 20, StuffingWaves: 1, SprayingWaves: 1})
		var b bytes.Buffer
		require.NoError(t, rep.WriteJSON(&b))
		return b.Bytes()
	}
	a, b := run(7), run(7)
	assert.Equal(t, string(a), string(b))
	assert.NotEqual(t, string(a), string(run(8)))
}

// realDataDir is the real-data cache, as signals/geo's tests find it.
func realDataDir() string {
	if d := os.Getenv("RISKAUTH_DATA_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", ".cache", "data")
}

// TestAttackerModels checks that each model really has the properties
// Wiefling et al. give it, as the engine's own geo signal sees them: on
// the fixture always, on the real GeoLite2 data when the cache has it.
func TestAttackerModels(t *testing.T) {
	t.Parallel()
	dirs := map[string]string{"fixture": ""}
	if HasRealData(realDataDir()) && !testing.Short() {
		dirs["geolite2"] = realDataDir()
	}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) { checkAttackerModels(t, dir) })
	}
}

func checkAttackerModels(t *testing.T, geoDir string) {
	s, err := New(Config{Seed: 3, Users: 200, Logins: 400, Attacks: 1, GeoDir: geoDir})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.Equal(t, geoDir == "", s.atlas.Fixture)
	rng := rand.New(rand.NewPCG(3, 4))
	ext := familiarity.NewExtractor(ualabel.NewCache(0).ReleaseLabels)
	at := Epoch.Add(30 * 24 * time.Hour)
	for i, v := range s.pop.users[:50] {
		home, err := s.eng.Geo.Lookup(s.atlas.Net(v.home).Addr(rng))
		require.NoError(t, err)
		vd := v.mainDevice()
		vx := ext.Extract(familiarity.Input{UserAgent: s.pop.userAgent(vd, at)})
		for _, m := range ATOModels {
			l := s.pop.takeover(rng, m, v, at)
			ev := l.ev
			require.Equal(t, v.id, ev.UserID)
			require.Equal(t, v.password, ev.Password, "takeovers have the correct password")
			require.NotEqual(t, vd.cookie, ev.Device.CookieID, "never the victim's device")
			rec, err := s.eng.Geo.Lookup(ev.IP)
			require.NoError(t, err)
			ax := ext.Extract(familiarity.Input{UserAgent: ev.UserAgent})
			switch m {
			case VPN, Targeted:
				assert.Equal(t, v.country, rec.Country, "user %d %s: the victim's country", i, m)
			case VeryTargeted:
				assert.Equal(t, home.City, rec.City, "user %d: the victim's city", i)
				assert.Equal(t, home.ASN, rec.ASN, "user %d: the victim's ASN", i)
				assert.Equal(t, s.pop.userAgent(vd, at), ev.UserAgent, "user %d: the exact user agent", i)
			}
			if m == Targeted {
				bname := func(b string) string { return strings.Fields(b + " ")[0] }
				assert.Equal(t, bname(vx.Browser), bname(ax.Browser), "user %d: the victim's browser", i)
				assert.Equal(t, strings.Fields(vx.OS + " ")[0], strings.Fields(ax.OS + " ")[0], "user %d: the victim's OS", i)
				assert.Equal(t, vx.DeviceType, ax.DeviceType, "user %d: the victim's device type", i)
			}
		}
		for _, m := range append(append([]Model(nil), ReplayModels...), ActiveModels...) {
			ev := s.pop.replayDevice(rng, m, v, vd, at).ev
			require.Equal(t, v.id, ev.UserID)
			rec, err := s.eng.Geo.Lookup(ev.IP)
			require.NoError(t, err)
			switch m {
			case CookieReplayCity, CookieReplayAbroad, SessionTheft, CookieReplayActiveCity, CookieReplayActiveAbroad:
				assert.Equal(t, *s.pop.descriptorOf(v, vd), *ev.Device, "user %d %s: the victim's device description", i, m)
				assert.Equal(t, s.pop.userAgent(vd, at), ev.UserAgent, "user %d %s: the exact user agent", i, m)
				assert.Equal(t, ja4Chromium, ev.JA4, "user %d %s: an anti-detect (Chromium) TLS stack", i, m)
			case SameNetwork:
				assert.Equal(t, v.homeIP, ev.IP, "user %d: the victim's address", i)
				assert.NotEqual(t, vd.cookie, ev.Device.CookieID, "user %d: a device of the attacker's own", i)
			}
			switch m {
			case CookieReplayCity, CookieReplayActiveCity:
				// Another ISP in the victim's city when the city has one,
				// else the nearest in the country.
				hn, other := s.atlas.Net(v.home), false
				for _, n := range s.atlas.InCity(hn.Country, hn.City) {
					other = other || s.atlas.Net(n).ASN != hn.ASN
				}
				if other {
					assert.Equal(t, home.City, rec.City, "user %d: the victim's city", i)
				}
				assert.Equal(t, home.Country, rec.Country, "user %d: the victim's country", i)
				if geoDir != "" { // the fixture has one network per ASN
					assert.NotEqual(t, home.ASN, rec.ASN, "user %d: another ISP", i)
				}
			case CookieReplayAbroad, CookieReplayActiveAbroad:
				assert.NotEqual(t, v.country, rec.Country, "user %d: another country", i)
			case SessionTheft:
				assert.Equal(t, KindSessionUse, ev.Kind)
				assert.Empty(t, ev.Password, "a session use carries no password")
			}
			if m != SessionTheft {
				assert.Equal(t, v.password, ev.Password, "user %d %s: takeovers have the correct password", i, m)
			}
		}
	}
}

// TestReplayJA4Copied: with the copied variant the replaying browser
// presents the replayed device's own TLS stack.
func TestReplayJA4Copied(t *testing.T) {
	t.Parallel()
	_, err := New(Config{Seed: 3, Users: 20, Logins: 40, ReplayJA4: "firefox"})
	require.ErrorContains(t, err, "replay JA4")
	s, err := New(Config{Seed: 3, Users: 50, Logins: 100, Attacks: 1, ReplayJA4: ReplayJA4Copied})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	rng := rand.New(rand.NewPCG(3, 5))
	at := Epoch.Add(30 * 24 * time.Hour)
	stacks := map[string]bool{}
	for _, v := range s.pop.users {
		vd := v.mainDevice()
		for _, m := range []Model{CookieReplayCity, CookieReplayAbroad, SessionTheft, CookieReplayActiveCity} {
			ev := s.pop.replayDevice(rng, m, v, vd, at).ev
			assert.Equal(t, s.pop.families[vd.fam].JA4, ev.JA4, "%s: the device's own stack", m)
			stacks[ev.JA4] = true
		}
	}
	assert.Greater(t, len(stacks), 1, "the victims' browsers are not all Chromium")
}

// TestPickRecent: an active-device replay targets a sign-in of the last
// activeWindow, or the latest one when none is that recent.
func TestPickRecent(t *testing.T) {
	t.Parallel()
	h := int64(time.Hour)
	recent := []recentLogin{{at: 0}, {at: 1 * h}, {at: 5 * h}, {at: 9 * h}, {at: 10 * h}}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		at   int64
		want []int64
	}{
		{"within the window", 12 * h, []int64{9 * h, 10 * h}},
		{"window edge included", 11 * h, []int64{5 * h, 9 * h, 10 * h}},
		{"none recent: the latest", 30 * h, []int64{10 * h}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[int64]bool{}
			for range 200 {
				r := pickRecent(rng, recent, tc.at)
				assert.Contains(t, tc.want, r.at)
				seen[r.at] = true
			}
			assert.Len(t, seen, len(tc.want), "every candidate drawn")
		})
	}
}

// TestFamilies: every family's UA parses to the labels it claims, in the
// parser the engine and the familiarity model use.
func TestFamilies(t *testing.T) {
	t.Parallel()
	ext := familiarity.NewExtractor(ualabel.NewCache(0).ReleaseLabels)
	for _, f := range Families() {
		for _, at := range []time.Time{Epoch, Epoch.Add(200 * 24 * time.Hour)} {
			x := ext.Extract(familiarity.Input{UserAgent: f.UA(f.Version(at))})
			assert.True(t, strings.HasPrefix(x.Browser, f.Browser+" "), "%s: browser %q", f.Name, x.Browser)
			assert.True(t, strings.HasPrefix(x.OS, f.OS), "%s: os %q", f.Name, x.OS)
			assert.Equal(t, f.Type, x.DeviceType, f.Name)
		}
	}
	chrome := Families()[0]
	assert.Equal(t, chrome.Base+1, chrome.Version(Epoch.Add(fourWeeks)), "one release every four weeks")
}

// TestCommonPasswordsBreached: the passwords sprayers and careless users
// pick are in the corpus the engine checks.
func TestCommonPasswordsBreached(t *testing.T) {
	t.Parallel()
	c := breached.NewEmbedded(breached.EmbeddedOptions{})
	for _, pw := range commonPasswords {
		r, err := c.Check(context.Background(), pw)
		require.NoError(t, err)
		assert.True(t, r.Breached, pw)
	}
	r, err := c.Check(context.Background(), "pw-"+cookieID(rand.New(rand.NewPCG(1, 1))))
	require.NoError(t, err)
	assert.False(t, r.Breached, "ordinary users' passwords are not")
}

// TestAddr: drawn addresses stay inside their network.
func TestAddr(t *testing.T) {
	t.Parallel()
	a, err := NewAtlas("", 0, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	require.True(t, a.Fixture)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range a.nets {
		n := a.Net(i)
		for range 50 {
			ip := n.Addr(rng)
			require.True(t, n.Prefix.Contains(ip), "%s not in %s", ip, n.Prefix)
		}
	}
}

// goldenReport is a hand-made report: the renderers' golden files do not
// move when the simulation does.
func goldenReport() *Report {
	fam := func(n int, r float64) (*int, *float64) { return &n, &r }
	f1, r1 := fam(95, 0.95)
	f2, r2 := fam(40, 0.4)
	return &Report{
		Config: ReportConfig{Seed: 1, Users: 300, Logins: 20000, Weeks: 12, Attacks: 100, StuffingWaves: 2, SprayingWaves: 2,
			Rules: "embedded default", RuleSet: "0123456789abcdef", Geo: "bundled fixture", Fixture: true, Networks: 14, FamThreshold: -2,
			ReplayJA4: ReplayJA4Chromium, Diurnal: true},
		Totals: Totals{Evaluations: 21300, LegitLogins: 20000, Typos: 600, Takeovers: 200, WaveAttempts: 500},
		Attacks: []AttackRow{
			{Model: Naive, Attempts: 100, StepUp: 80, Block: 20, TPR: 1, FamFlagged: f1, FamTPR: r1},
			{Model: VeryTargeted, Attempts: 100, StepUp: 90, Block: 0, TPR: 0.9, FamFlagged: f2, FamTPR: r2},
			{Model: Stuffing, Attempts: 500, StepUp: 10, Block: 470, TPR: 0.96},
		},
		Legit: []BucketRow{
			{Name: "0", Logins: 300, StepUp: 3, StepUpRate: 0.01, ReauthRate: 0.01, FamFlagged: 300, FamRate: 1},
			{Name: "1-2", Logins: 600, StepUp: 90, Block: 3, StepUpRate: 0.15, BlockRate: 0.005, ReauthRate: 0.155, FamFlagged: 180, FamRate: 0.3},
			{Name: "30+", Logins: 19100, StepUp: 76, StepUpRate: 0.004, ReauthRate: 0.004, FamFlagged: 130, FamRate: 0.0068},
		},
		LegitAll:     BucketRow{Name: "all", Logins: 20000, StepUp: 169, Block: 3, StepUpRate: 0.0085, BlockRate: 0.0002, ReauthRate: 0.0086, FamFlagged: 610, FamRate: 0.0305},
		Contexts:     []BucketRow{{Name: "home", Logins: 20000, StepUp: 169, StepUpRate: 0.0085, ReauthRate: 0.0085}},
		Median:       Median{Users: 230, Rules: 0, Familiarity: 0.01},
		BlockedUsers: 3, BlockedLogins: 3,
		Familiarity: FamiliarityReport{Threshold: -2,
			Sweep:     []SweepRow{{Threshold: -2, Legit10: 0.01, Median10: 0, TPR: map[string]float64{"naive": 0.95, "very_targeted": 0.4}}},
			Quantiles: []Quantiles{{Name: "naive", N: 100, P5: -0.1, P50: 1.3, P95: 2.35}}},
		Rules: []RuleRow{{Rule: "new-device", Legit: 400, LegitBlock: 3, Takeover: 200, Wave: 0}, {Rule: "credential-stuffing-ip", Wave: 470}},
		Email: &EmailReport{CorporateUsers: 41, Share: 0.1367, Companies: 30, WithColleagues: 9, Largest: 4},
		Hours: []HourRow{
			{Name: "legit", N: 24, Hours: [24]int{1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 1, 0}, Night: 0},
			{Name: "naive", N: 4, Hours: [24]int{0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0}, Night: 0.5},
		},
	}
}

func TestRenderersGolden(t *testing.T) {
	t.Parallel()
	r := goldenReport()
	for _, c := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"report.txt.golden", func(b *bytes.Buffer) error { return r.WriteText(b) }},
		{"report.json.golden", func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
		{"report.html.golden", func(b *bytes.Buffer) error { return r.WriteHTML(b) }},
	} {
		t.Run(c.file, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, c.write(&b))
			path := filepath.Join("testdata", c.file)
			if *update {
				require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), b.String())
		})
	}
}
