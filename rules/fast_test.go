package rules

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/stretchr/testify/require"
)

// fastCounters mirrors the engine's default counter catalogue (the
// external tests' list; this file is an internal test and cannot see it).
var fastCounters = []string{
	"ip_attempts_1m", "ip_failures_10m", "ip_failures_1h", "ip_distinct_users_10m", "ip_failed_users_1h",
	"ip_registrations_1h", "subnet_failures_1h", "subnet_distinct_users_1h", "user_attempts_10m",
	"user_failures_1h", "user_failures_24h", "user_distinct_ips_24h", "user_logins_24h", "user_resets_24h",
	"device_failures_1h", "device_distinct_users_24h", "device_users_30d", "domain_asn_users_90d",
}

func fastSchema(t testing.TB) *Schema {
	t.Helper()
	s, err := NewSchema(fastCounters)
	require.NoError(t, err)
	return s
}

// Value pools: small, so that equality and ordering between fields and
// literals hit both outcomes often, with the edges that differ between
// int and float arithmetic.
var (
	fastInts    = []int{-1, 0, 1, 2, 3, 5, 10, 20, 180, 255, 256, math.MaxInt, math.MinInt}
	fastFloats  = []float64{-1, 0, 0.5, 1.5, 2, 3, 180, 180.5, -3.2, math.Inf(1), math.NaN()}
	fastStrings = []string{"", "login", "registration", "GB", "US", "203.0.113.7", "2001:db8::1", "free", "Lon", "London"}
	fastKeys    = []string{"plan", "tier", "x"}
)

// randomFeatures fills every field a rule can read with values from the
// pools.
func randomFeatures(s *Schema, rnd *rand.Rand) *risk.Features {
	f := s.NewFeatures()
	fv := reflect.ValueOf(f).Elem()
	for _, fl := range s.Fields() {
		a := fl.acc
		if a.counter >= 0 {
			f.Velocity.Values[a.counter] = fastInts[rnd.IntN(len(fastInts))]
			continue
		}
		if a.kind == reflect.Map {
			m := map[string]string{}
			for _, k := range fastKeys {
				if rnd.IntN(2) == 0 {
					m[k] = fastStrings[rnd.IntN(len(fastStrings))]
				}
			}
			if rnd.IntN(4) == 0 {
				m = nil
			}
			f.Attr = m
			continue
		}
		v := fv.FieldByIndex(fl.index)
		switch a.kind {
		case reflect.Bool:
			v.SetBool(rnd.IntN(2) == 0)
		case reflect.Int:
			v.SetInt(int64(fastInts[rnd.IntN(len(fastInts))]))
		case reflect.Float64:
			v.SetFloat(fastFloats[rnd.IntN(len(fastFloats))])
		case reflect.String:
			v.SetString(fastStrings[rnd.IntN(len(fastStrings))])
		}
	}
	return f
}

// vmResult runs the rule the way the VM does, on the environment copy.
func vmResult(s *Schema, prog *vm.Program, f *risk.Features) (bool, error) {
	out, err := expr.Run(prog, s.envOf(f).Interface())
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

// TestFastDefaultRules checks that every rule of the shipped file runs as
// closures (the request path's cost depends on it) and agrees with the VM.
func TestFastDefaultRules(t *testing.T) {
	s := fastSchema(t)
	files := map[string][]byte{"default.yaml": DefaultFile}
	for _, glob := range []string{"testdata/*.good.yaml", "../testdata/rules/*.good.yaml", "backtest/testdata/*.yaml", "../cmd/riskctl/testdata/*/*.yaml", "../testdata/scenarios/*.yaml"} {
		paths, _ := filepath.Glob(glob)
		for _, p := range paths {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			files[p] = b
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for name, src := range files {
		rs, err := Compile(name, src, s, WithBaseDir(filepath.Dir(name)))
		if err != nil {
			require.NotEqual(t, "default.yaml", name)
			continue // a scenario or a deliberately bad file
		}
		t.Run(name, func(t *testing.T) {
			for _, r := range rs.Rules {
				if name == "default.yaml" {
					require.NotNil(t, r.fast, "default rule %s must compile to closures", r.ID)
				}
				if r.fast == nil {
					continue
				}
				for range 2000 {
					f := randomFeatures(s, rnd)
					want, err := vmResult(s, r.program, f)
					require.NoError(t, err)
					require.Equal(t, want, r.fast(f), "rule %s: %s on %+v", r.ID, r.When, f)
				}
			}
		})
	}
}

// TestFastEvidence checks that evidence read through the accessors is what
// reflection reads from the environment.
func TestFastEvidence(t *testing.T) {
	s := fastSchema(t)
	rnd := rand.New(rand.NewPCG(3, 4))
	fields := append([]Field(nil), s.Fields()...)
	for _, k := range fastKeys {
		f, _ := s.Field("attr")
		f.Path, f.acc.key = "attr."+k, k
		fields = append(fields, f)
	}
	for range 200 {
		f := randomFeatures(s, rnd)
		got, want := featureEvidence(f, fields), reflectEvidence(s.envOf(f).Elem(), fields)
		require.Equal(t, len(want), len(got))
		for i := range want {
			w, g := want[i], got[i]
			if x, ok := w.Value.(float64); ok && math.IsNaN(x) {
				y, ok := g.Value.(float64)
				require.True(t, ok && math.IsNaN(y), "%s", w.Field)
				continue
			}
			require.Equal(t, w, g)
		}
	}
}

// exprGen writes random, mostly well-typed conditions over the schema's
// fields, literals and every operator the closure compiler knows, plus
// some it leaves to the VM.
type exprGen struct {
	rnd    *rand.Rand
	byKind map[string][]string
}

func newExprGen(s *Schema, rnd *rand.Rand) *exprGen {
	g := &exprGen{rnd: rnd, byKind: map[string][]string{}}
	for _, f := range s.Fields() {
		g.byKind[f.Type] = append(g.byKind[f.Type], f.Path)
	}
	for _, k := range fastKeys {
		g.byKind["string"] = append(g.byKind["string"], "attr."+k, fmt.Sprintf("attr[%q]", k))
	}
	return g
}

func (g *exprGen) pick(xs []string) string { return xs[g.rnd.IntN(len(xs))] }

func (g *exprGen) boolean(depth int) string {
	if depth <= 0 {
		return g.pick(g.byKind["bool"])
	}
	d := depth - 1
	switch g.rnd.IntN(14) {
	case 0:
		return g.pick(g.byKind["bool"])
	case 1:
		return "!" + g.boolean(d)
	case 2:
		return "(" + g.boolean(d) + " && " + g.boolean(d) + ")"
	case 3:
		return "(" + g.boolean(d) + " || " + g.boolean(d) + ")"
	case 4, 5:
		return g.number(d) + " " + g.pick([]string{"<", "<=", ">", ">=", "==", "!="}) + " " + g.number(d)
	case 6:
		return g.str(d) + " " + g.pick([]string{"==", "!=", "<", ">=", "contains", "startsWith", "endsWith"}) + " " + g.str(d)
	case 7:
		return g.str(d) + " in [" + fmt.Sprintf("%q, %q", g.pick(fastStrings), g.pick(fastStrings)) + "]"
	case 8:
		return g.number(d) + fmt.Sprintf(" in [%d, %d]", g.pick2Int(), g.pick2Int())
	case 9:
		return "(" + g.boolean(d) + " ? " + g.boolean(d) + " : " + g.boolean(d) + ")"
	case 10:
		return g.boolean(d) + " == " + g.boolean(d)
	case 11:
		return "not " + g.boolean(d)
	case 12:
		return g.str(d) + " not in [" + fmt.Sprintf("%q", g.pick(fastStrings)) + "]"
	default:
		return fmt.Sprintf("%v", g.rnd.IntN(2) == 0)
	}
}

func (g *exprGen) pick2Int() int { return fastInts[g.rnd.IntN(len(fastInts)-2)] }

func (g *exprGen) number(depth int) string {
	leaf := func() string {
		switch g.rnd.IntN(4) {
		case 0:
			return g.pick(g.byKind["int"])
		case 1:
			return g.pick(g.byKind["float"])
		case 2:
			return fmt.Sprint(g.pick2Int())
		default:
			return fmt.Sprintf("%g", []float64{0.5, 1.5, 180, -3.2, 0}[g.rnd.IntN(5)])
		}
	}
	if depth <= 0 {
		return leaf()
	}
	d := depth - 1
	switch g.rnd.IntN(7) {
	case 0, 1:
		return leaf()
	case 2:
		return "(" + g.number(d) + " " + g.pick([]string{"+", "-", "*", "/", "%", "**"}) + " " + g.number(d) + ")"
	case 3:
		return "-" + g.number(d)
	case 4:
		return "(" + g.boolean(d) + " ? " + g.number(d) + " : " + g.number(d) + ")"
	case 5:
		return "+" + g.number(d)
	default:
		return "(" + g.number(d) + " + " + g.number(d) + ")"
	}
}

func (g *exprGen) str(depth int) string {
	if depth <= 0 || g.rnd.IntN(3) > 0 {
		if g.rnd.IntN(3) == 0 {
			return fmt.Sprintf("%q", g.pick(fastStrings))
		}
		return g.pick(g.byKind["string"])
	}
	d := depth - 1
	if g.rnd.IntN(2) == 0 {
		return "(" + g.str(d) + " + " + g.str(d) + ")"
	}
	return "(" + g.boolean(d) + " ? " + g.str(d) + " : " + g.str(d) + ")"
}

// checkFastAgainstVM compiles cond as a rule does and, when it compiles to
// closures, compares them with the VM on features from rnd. It reports
// whether the closures were used.
func checkFastAgainstVM(t *testing.T, s *Schema, cond string, rnd *rand.Rand, rounds int) bool {
	t.Helper()
	r := &Rule{When: cond}
	if err := r.compile(s, &options{}); err != nil {
		return false // ill-typed: the generator does not track every rule of the checker
	}
	if r.fast == nil {
		return false
	}
	for range rounds {
		f := randomFeatures(s, rnd)
		want, err := vmResult(s, r.program, f)
		if err != nil {
			t.Fatalf("%s: VM error %v where the closures cannot fail", cond, err)
		}
		if got := r.fast(f); got != want {
			t.Fatalf("%s: closures %v, VM %v, on %+v", cond, got, want, f)
		}
	}
	return true
}

// TestFastMatchesVM compares the closures with the VM on thousands of
// random conditions.
func TestFastMatchesVM(t *testing.T) {
	s := fastSchema(t)
	rnd := rand.New(rand.NewPCG(5, 6))
	g := newExprGen(s, rnd)
	n := 3000
	if testing.Short() {
		n = 500
	}
	compiled := 0
	for range n {
		if checkFastAgainstVM(t, s, g.boolean(4), rnd, 20) {
			compiled++
		}
	}
	// Most generated conditions are in the closure compiler's language;
	// if this drops, the compiler stopped handling something common.
	require.Greater(t, compiled, n/2, "only %d of %d conditions compiled to closures", compiled, n)
}

// FuzzFastMatchesVM lets the fuzzer choose the random conditions and
// features: go test ./rules -run '^$' -fuzz FuzzFastMatchesVM.
func FuzzFastMatchesVM(f *testing.F) {
	s := fastSchema(f)
	for i := range uint64(8) {
		f.Add(i, i*7+1)
	}
	f.Fuzz(func(t *testing.T, a, b uint64) {
		rnd := rand.New(rand.NewPCG(a, b))
		g := newExprGen(s, rnd)
		checkFastAgainstVM(t, s, g.boolean(1+int(a%5)), rnd, 20)
	})
}

// TestFastLeavesToVM lists constructs that stay on the VM, so that the
// fallback is exercised: each must still evaluate correctly through
// RuleSet.Evaluate.
func TestFastLeavesToVM(t *testing.T) {
	s := fastSchema(t)
	for _, cond := range []string{
		`user.logins % 2 == 0`,
		`user.logins ** 2 > 3`,
		`in_cidr(event.ip, "203.0.113.0/24")`,
		`len(geo.country) == 2`,
		`geo.country matches "^G"`,
		`attr?.plan == "free"`,
		`"plan" in attr`,
	} {
		t.Run(cond, func(t *testing.T) {
			src := "version: 1\nthresholds: { step_up: 50, block: 90 }\nrules:\n  - id: r\n    description: d\n    when: '" + strings.ReplaceAll(cond, "'", "''") + "'\n    score: 1\n"
			rs, err := Compile("t.yaml", []byte(src), s)
			require.NoError(t, err)
			r := rs.Rules[0]
			require.Nil(t, r.fast)
			rnd := rand.New(rand.NewPCG(7, 8))
			for range 200 {
				f := randomFeatures(s, rnd)
				f.Event.IP = []string{"203.0.113.7", "198.51.100.1", ""}[rnd.IntN(3)]
				want, err := vmResult(s, r.program, f)
				got := rs.Evaluate(f, time.Unix(1_700_000_000, 0))
				require.Equal(t, err != nil, len(got.Errors) == 1, "%s: %v", cond, err)
				require.Equal(t, want, len(got.Matches) == 1, "%s", cond)
			}
		})
	}
}

// reflectEvidence reads evidence by reflection from the rule environment,
// as Evaluate did before the accessors: the reference for TestFastEvidence.
func reflectEvidence(env reflect.Value, fields []Field) []risk.Evidence {
	if len(fields) == 0 {
		return nil
	}
	out := make([]risk.Evidence, len(fields))
	for i, f := range fields {
		v := env.FieldByIndex(f.index)
		if f.acc.key != "" {
			out[i] = risk.Evidence{Field: f.Path, Value: v.Interface().(map[string]string)[f.acc.key]}
			continue
		}
		out[i] = risk.Evidence{Field: f.Path, Value: v.Interface()}
	}
	return out
}
