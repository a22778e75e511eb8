package rules_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// counters is a catalogue like the engine's default one, kept local so the
// rules package tests do not depend on the engine.
var counters = []string{
	"ip_attempts_1m", "ip_failures_10m", "ip_failures_1h", "ip_distinct_users_10m", "ip_failed_users_1h",
	"ip_registrations_1h", "subnet_failures_1h", "subnet_distinct_users_1h", "user_attempts_10m",
	"user_failures_1h", "user_failures_24h", "user_distinct_ips_24h", "user_logins_24h", "user_resets_24h",
	"device_failures_1h", "device_distinct_users_24h", "device_users_30d", "domain_asn_users_90d",
}

func schema(t testing.TB) *rules.Schema {
	t.Helper()
	s, err := rules.NewSchema(counters)
	require.NoError(t, err)
	return s
}

func TestGoodFiles(t *testing.T) {
	files, _ := filepath.Glob("../testdata/rules/*.good.yaml")
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rs, err := rules.LoadFile(f, schema(t))
			require.NoError(t, err)
			for _, c := range rs.RunCases() {
				assert.True(t, c.Passed, "%s %s: %v", c.Rule, c.Name, c.Diff)
			}
		})
	}
}

// TestBadFiles checks every *.bad.yaml against the errors in its golden
// file: all problems reported at once, each with file:line:col.
func TestBadFiles(t *testing.T) {
	files, _ := filepath.Glob("../testdata/rules/*.bad.yaml")
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := rules.LoadFile(f, schema(t))
			require.Error(t, err)
			require.ErrorIs(t, err, rules.ErrInvalid)
			got := strings.ReplaceAll(err.Error(), "../testdata/rules/", "") + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./rules -update to create the golden file")
			assert.Equal(t, string(want), got)
		})
	}
}

func TestDefaultFile(t *testing.T) {
	rs, err := rules.Compile("default.yaml", rules.DefaultFile, schema(t))
	require.NoError(t, err)
	results := rs.RunCases()
	require.NotEmpty(t, results)
	for _, c := range results {
		assert.True(t, c.Passed, "%s %s: %v", c.Rule, c.Name, c.Diff)
	}
	// Every namespace the engine issue adds is used by at least one rule.
	used := map[string]bool{}
	for _, r := range rs.Rules {
		for _, f := range r.Fields {
			used[strings.SplitN(f, ".", 2)[0]] = true
		}
	}
	for _, ns := range []string{"velocity", "device", "user", "event"} {
		assert.True(t, used[ns], "default rules never read %s.*", ns)
	}
}

func TestEvaluate(t *testing.T) {
	s := schema(t)
	src := `version: 1
thresholds: { step_up: 40, block: 80 }
rules:
  - { id: small, description: small, when: event.headless, score: 10 }
  - { id: big, description: big, when: event.headless, score: 35 }
  - { id: forced, description: forced step-up, when: 'event.kind == "mfa"', action: step_up }
  - { id: blocker, description: forced block, when: 'attr.plan == "evil"', action: block, alert: critical }
  - { id: shadow, description: shadow, when: event.headless, score: 50, mode: shadow }
  - { id: broken, description: fails at run time, when: 'int(attr.plan) > 1', score: 5 }
  - { id: discount, description: negative, when: device.trusted, score: -20 }
`
	rs, err := rules.Compile("t.yaml", []byte(src), s)
	require.NoError(t, err)
	now := time.Unix(1700000000, 0)

	tests := []struct {
		name        string
		given       map[string]any
		action      risk.Action
		shadow      risk.Action
		score       float64
		order       []string
		shadowRules int
		errors      int
	}{
		{"nothing", map[string]any{"attr": map[string]any{"plan": "0"}}, risk.Passwordless, risk.Passwordless, 0, nil, 0, 0},
		{"scores add up and order by score", map[string]any{"event": map[string]any{"headless": true}, "attr": map[string]any{"plan": "1"}},
			risk.StepUp, risk.Block, 45, []string{"big", "small"}, 1, 0},
		{"forced actions come first", map[string]any{"event": map[string]any{"headless": true, "kind": "mfa"}, "attr": map[string]any{"plan": "evil"}},
			risk.Block, risk.Block, 45, []string{"blocker", "forced", "big", "small"}, 1, 1},
		{"negative score", map[string]any{"event": map[string]any{"headless": true}, "device": map[string]any{"trusted": true}, "attr": map[string]any{"plan": "0"}},
			risk.Passwordless, risk.StepUp, 25, []string{"big", "small", "discount"}, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := s.FeaturesFromMap(tc.given)
			require.NoError(t, err)
			res := rs.Evaluate(f, now)
			assert.Equal(t, tc.action, res.Action)
			assert.Equal(t, tc.shadow, res.ShadowAction)
			assert.Equal(t, tc.score, res.Score)
			var ids []string
			for _, m := range res.Matches {
				ids = append(ids, m.Rule.ID)
			}
			assert.Equal(t, tc.order, ids)
			assert.Len(t, res.Shadow, tc.shadowRules)
			assert.Len(t, res.Errors, tc.errors)
		})
	}

	t.Run("evidence carries the values read", func(t *testing.T) {
		f, _ := s.FeaturesFromMap(map[string]any{"attr": map[string]any{"plan": "evil"}})
		res := rs.Evaluate(f, now)
		require.Len(t, res.Matches, 1)
		assert.Equal(t, []risk.Evidence{{Field: "attr.plan", Value: "evil"}}, res.Matches[0].Evidence)
		n, last := rs.Rule("blocker").Hits()
		assert.NotZero(t, n)
		assert.Equal(t, now.UnixNano(), last)
	})
}

func TestFeaturesFromMap(t *testing.T) {
	s := schema(t)
	_, err := s.FeaturesFromMap(map[string]any{"geo": map[string]any{"countyr": "RU"}})
	require.ErrorContains(t, err, "did you mean geo.country?")
	_, err = s.FeaturesFromMap(map[string]any{"velocity": map[string]any{"ip_failures_10m": "three"}})
	require.ErrorContains(t, err, "want an integer")
	_, err = s.FeaturesFromMap(map[string]any{"nope": map[string]any{}})
	require.ErrorContains(t, err, `unknown namespace "nope"`)
	f, err := s.FeaturesFromMap(map[string]any{"velocity": map[string]any{"ip_failures_10m": 7, "available": false}})
	require.NoError(t, err)
	i, _ := s.CounterIndex("ip_failures_10m")
	assert.Equal(t, 7, f.Velocity.Values[i])
	assert.False(t, f.Velocity.Available)
}

func TestSchema(t *testing.T) {
	for _, bad := range [][]string{{"Bad"}, {"available"}, {"x", "x"}, {""}} {
		_, err := rules.NewSchema(bad)
		assert.Error(t, err, "%v", bad)
	}
	s := schema(t)
	f, ok := s.Field("velocity.user_failures_1h")
	require.True(t, ok)
	assert.Equal(t, "int", f.Type)
	f, ok = s.Field("geo.impossible_travel")
	require.True(t, ok)
	assert.Equal(t, "bool", f.Type)
	assert.NotEmpty(t, f.Doc)
	for _, f := range s.Fields() {
		assert.NotEmpty(t, f.Doc, f.Path)
	}
}

// TestFieldExamples: every field's example is a literal of the field's
// type, so the catalogue (docs/rule-fields.md) cannot show a value a rule
// could not compare with.
func TestFieldExamples(t *testing.T) {
	s := schema(t)
	for _, f := range s.Fields() {
		t.Run(f.Path, func(t *testing.T) {
			require.NotEmpty(t, f.Example)
			var err error
			switch f.Type {
			case "bool":
				_, err = strconv.ParseBool(f.Example)
			case "int":
				_, err = strconv.Atoi(f.Example)
			case "float":
				_, err = strconv.ParseFloat(f.Example, 64)
			case "string", "map":
				_, err = strconv.Unquote(f.Example)
			default:
				t.Fatalf("type %s has no example check", f.Type)
			}
			require.NoError(t, err, "example %s of a %s", f.Example, f.Type)
			if f.Type == "map" {
				return
			}
			src := fmt.Sprintf("version: 1\nthresholds: {step_up: 40, block: 80}\nrules:\n  - id: example\n    description: example\n    when: %s == %s\n    score: 1\n", f.Path, f.Example)
			_, err = rules.Compile("example.yaml", []byte(src), s)
			require.NoError(t, err, "a rule comparing with the example compiles")
		})
	}
}

func TestLists(t *testing.T) {
	s := schema(t)
	src := []byte(`version: 1
thresholds: { step_up: 40, block: 80 }
rules:
  - { id: denied-country, description: d, when: 'in_list("deny_countries", geo.country)', action: block }
  - { id: asn, description: d, when: 'in_list("bad_asns", geo.asn) && in_cidr(event.ip, "192.0.2.0/24")', score: 10 }
`)
	rs, err := rules.Compile("l.yaml", src, s, rules.WithLists(map[string][]string{"deny_countries": {"KP"}, "bad_asns": {"64500"}}))
	require.NoError(t, err)
	f, _ := s.FeaturesFromMap(map[string]any{"geo": map[string]any{"country": "KP", "asn": 64500}, "event": map[string]any{"ip": "192.0.2.7"}})
	res := rs.Evaluate(f, time.Time{})
	assert.Equal(t, risk.Block, res.Action)
	assert.Len(t, res.Matches, 2)

	_, err = rules.Compile("l.yaml", src, s)
	require.ErrorContains(t, err, `no list named "deny_countries"`)
}

func TestSourceReload(t *testing.T) {
	s := schema(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	good, err := os.ReadFile("../testdata/rules/basic.good.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, good, 0o644))

	var events []string
	src, err := rules.NewSource(rules.SourceConfig{Path: path, Schema: s, OnChange: func(old, cur *rules.RuleSet, err error) {
		if err != nil {
			events = append(events, "rejected")
		} else {
			events = append(events, "activated")
		}
	}})
	require.NoError(t, err)
	v1 := src.Current().Version

	changed, err := src.Reload()
	require.NoError(t, err)
	assert.False(t, changed, "same content is not a change")

	require.NoError(t, os.WriteFile(path, []byte("version: 1\nrules: [oops"), 0o644))
	_, err = src.Reload()
	require.ErrorIs(t, err, rules.ErrInvalid)
	assert.Equal(t, v1, src.Current().Version, "an invalid file never replaces a valid one")

	v2src := strings.Replace(string(good), "score: 30", "score: 35", 1)
	require.NoError(t, os.WriteFile(path, []byte(v2src), 0o644))
	changed, err = src.Reload()
	require.NoError(t, err)
	assert.True(t, changed)
	assert.NotEqual(t, v1, src.Current().Version)
	assert.Equal(t, []string{"rejected", "activated"}, events)

	require.NoError(t, os.Remove(path))
	_, err = src.Reload()
	require.Error(t, err)
	assert.False(t, errors.Is(err, rules.ErrInvalid))
	assert.NotEqual(t, v1, src.Current().Version)
}

func TestSourceWatch(t *testing.T) {
	s := schema(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	good, _ := os.ReadFile("../testdata/rules/basic.good.yaml")
	require.NoError(t, os.WriteFile(path, good, 0o644))
	activated := make(chan string, 64)
	src, err := rules.NewSource(rules.SourceConfig{Path: path, Schema: s, OnChange: func(_, cur *rules.RuleSet, err error) {
		if err == nil {
			activated <- cur.Version
		}
	}})
	require.NoError(t, err)
	ctx, cancel := contextWithCancel(t)
	defer cancel()
	go src.Watch(ctx, time.Hour) // events only: the poll never fires in this test

	// Replace the file the way editors and config managers do: write a
	// temporary file and rename it over the old one. Nothing tells the
	// test when the watcher has started watching (it used to sleep 50ms
	// and hope): a rename before that goes unseen, so the replacement is
	// repeated, with the same content, until one is picked up.
	tmp := filepath.Join(dir, ".rules.yaml.tmp")
	next := []byte(strings.Replace(string(good), "score: 45", "score: 46", 1))
	deadline := time.After(testenv.Patience)
	for {
		require.NoError(t, os.WriteFile(tmp, next, 0o644))
		require.NoError(t, os.Rename(tmp, path))
		select {
		case v := <-activated:
			assert.Equal(t, v, src.Current().Version)
			return
		case <-time.After(500 * time.Millisecond): // the watcher's debounce is 100ms
		case <-deadline:
			t.Fatalf("the watcher did not pick up the new file in %s", testenv.Patience)
		}
	}
}

func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob("../testdata/rules/*.yaml")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add(rules.DefaultFile)
	s, err := rules.NewSchema(counters)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		rs, err := rules.Compile("fuzz.yaml", src, s)
		if err != nil {
			var es rules.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not a rules.Errors: %T %v", err, err)
			}
			return
		}
		// A set that compiled must evaluate and run its cases without panicking.
		rs.Evaluate(s.NewFeatures(), time.Time{})
		rs.RunCases()
	})
}

func TestListFilesChangeTheVersion(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../testdata/rules/lists.good.yaml")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lists"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yaml"), src, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lists/deny-countries.txt"), []byte("KP\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lists/satellite-asns.txt"), []byte("14593\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lists/automation-ja4.txt"), []byte("# none yet\n"), 0o644))
	s := schema(t)
	source, err := rules.NewSource(rules.SourceConfig{Path: filepath.Join(dir, "rules.yaml"), Schema: s})
	require.NoError(t, err)
	v1 := source.Current().Version
	f, _ := s.FeaturesFromMap(map[string]any{"geo": map[string]any{"country": "IR"}})
	assert.Equal(t, risk.Passwordless, source.Current().Evaluate(f, time.Time{}).Action)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "lists/deny-countries.txt"), []byte("KP\nIR\n"), 0o644))
	changed, err := source.Reload()
	require.NoError(t, err)
	assert.True(t, changed, "a changed list is a new rule set version")
	assert.NotEqual(t, v1, source.Current().Version)
	assert.Equal(t, risk.Block, source.Current().Evaluate(f, time.Time{}).Action)

	// The analysts add an anti-detect browser's TLS fingerprint: the next
	// reload scores it (issue 24).
	const ja4 = "t13d1516h2_8daaf6152771_0123456789ab"
	fj, _ := s.FeaturesFromMap(map[string]any{"event": map[string]any{"ja4": ja4}})
	assert.Equal(t, 0.0, source.Current().Evaluate(fj, time.Time{}).Score)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lists/automation-ja4.txt"), []byte(ja4+"  # seen 2026-12-07\n"), 0o644))
	changed, err = source.Reload()
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, 40.0, source.Current().Evaluate(fj, time.Time{}).Score)
}

func TestExtraEvidence(t *testing.T) {
	s := schema(t)
	rs, err := rules.Compile("e.yaml", []byte(`version: 1
thresholds: { step_up: 40, block: 80 }
rules:
  - id: travel
    description: impossible travel
    when: geo.impossible_travel
    score: 50
    evidence: [geo.last_city, geo.city, geo.impossible_travel, attr.app]
`), s)
	require.NoError(t, err)
	f, _ := s.FeaturesFromMap(map[string]any{"geo": map[string]any{"impossible_travel": true, "city": "Sydney", "last_city": "London"},
		"attr": map[string]any{"app": "web"}})
	res := rs.Evaluate(f, time.Time{})
	require.Len(t, res.Matches, 1)
	assert.Equal(t, []risk.Evidence{
		{Field: "geo.impossible_travel", Value: true},
		{Field: "geo.last_city", Value: "London"},
		{Field: "geo.city", Value: "Sydney"},
		{Field: "attr.app", Value: "web"},
	}, res.Matches[0].Evidence, "the condition's fields first, then the extra ones, each once")
}
