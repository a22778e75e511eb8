package rules

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/agnivade/levenshtein"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/riskauth/riskauth/engine/risk"
	"go.yaml.in/yaml/v3"
)

// maxSuggestions bounds the "did you mean" candidates in one message.
const maxSuggestions = 3

// suggestFields returns the catalogue fields closest to an unknown path,
// for "did you mean" hints: every field at the smallest edit distance, if
// that distance is small for the path's length (a quarter of it, at least
// two edits), which also catches misspelt namespaces
// (velocty.ip_failures_10m). Failing that, fields with the same name in
// another namespace (user.country -> geo.country). Empty when nothing is
// close.
func suggestFields(s *Schema, path string) []string {
	best, bestD := []string(nil), math.MaxInt
	for _, f := range s.fields {
		if f.Type == "map" {
			continue
		}
		d := levenshtein.ComputeDistance(path, f.Path)
		switch {
		case d < bestD:
			best, bestD = []string{f.Path}, d
		case d == bestD:
			best = append(best, f.Path)
		}
	}
	if bestD <= max(2, len(path)/4) {
		return best[:min(len(best), maxSuggestions)]
	}
	var same []string
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		for _, f := range s.fields {
			if strings.HasSuffix(f.Path, path[i:]) && len(same) < maxSuggestions {
				same = append(same, f.Path)
			}
		}
	}
	return same
}

// unknownNamespace is the message for a misspelt namespace in given
// features, with the closest namespace when one is close.
func unknownNamespace(ns string) string {
	best, bestD := "", math.MaxInt
	ft := reflect.TypeFor[risk.Features]()
	for i := range ft.NumField() {
		name := ft.Field(i).Tag.Get("expr")
		if d := levenshtein.ComputeDistance(ns, name); d < bestD {
			best, bestD = name, d
		}
	}
	if bestD <= max(2, len(ns)/4) {
		return fmt.Sprintf("unknown namespace %q (did you mean %s?)", ns, best)
	}
	return fmt.Sprintf("unknown namespace %q", ns)
}

// didYouMean renders suggestions as "a", "a or b", "a, b or c".
func didYouMean(sugs []string) string {
	if len(sugs) == 1 {
		return sugs[0]
	}
	return strings.Join(sugs[:len(sugs)-1], ", ") + " or " + sugs[len(sugs)-1]
}

// Warning is something odd about a rule file that does not stop it from
// loading: `riskctl rules lint` prints it and fails only with -strict.
type Warning struct {
	File      string
	Line, Col int
	Msg       string
}

// String renders the warning as file:line:col: warning: msg, like Error.
func (w Warning) String() string {
	return Error{File: w.File, Line: w.Line, Col: w.Col, Msg: "warning: " + w.Msg}.Error()
}

// Coverage counts, per rule, how many evaluations ran it and how many it
// matched, over a corpus (inline cases, scenario replays). A rule that never
// matches is dead weight or mistyped; one that always matches fires on
// everything, which is rarely meant.
type Coverage struct {
	// Evaluated and Matched are keyed by rule id.
	Evaluated map[string]int
	Matched   map[string]int
	rules     []string
}

// NewCoverage starts counting for the rules of a set.
func NewCoverage(rs *RuleSet) *Coverage {
	c := &Coverage{Evaluated: map[string]int{}, Matched: map[string]int{}}
	for _, r := range rs.Rules {
		c.rules = append(c.rules, r.ID)
	}
	return c
}

// Observe records one evaluation of the whole set in which the rules in
// matched (enforced and shadow) matched.
func (c *Coverage) Observe(matched []string) {
	for _, id := range c.rules {
		c.Evaluated[id]++
	}
	for _, id := range matched {
		if _, ok := c.Evaluated[id]; ok {
			c.Matched[id]++
		}
	}
}

// ObserveRule records one evaluation of a single rule (an inline case).
func (c *Coverage) ObserveRule(id string, matched bool) {
	c.Evaluated[id]++
	if matched {
		c.Matched[id]++
	}
}

// AddCases replays the set's inline and file-level cases into the
// coverage, on a copy of the set so the live hit counters stay untouched.
// Cases whose features do not load are skipped (RunCases reports them).
func (c *Coverage) AddCases(rs *RuleSet) {
	iso := rs.clone()
	for _, r := range iso.Rules {
		for _, tc := range r.Cases {
			f, err := iso.schema.FeaturesFromMap(tc.Given)
			if err != nil {
				continue
			}
			ok, err := r.matches(iso.schema, f)
			c.ObserveRule(r.ID, ok && err == nil)
		}
	}
	for _, tc := range iso.Cases {
		f, err := iso.schema.FeaturesFromMap(tc.Given)
		if err != nil {
			continue
		}
		res := iso.Evaluate(f, time.Unix(0, 0))
		var ids []string
		for _, m := range res.Matches {
			ids = append(ids, m.Rule.ID)
		}
		for _, m := range res.Shadow {
			ids = append(ids, m.Rule.ID)
		}
		c.Observe(ids)
	}
}

// Lint returns the warnings for a compiled set: thresholds that a score
// cannot reach or that a forced action contradicts, enforced rules whose
// numeric thresholds on the same field overlap (their scores add up), and,
// when cov is not nil, rules that never or always matched over the corpus.
// Errors (unknown fields, duplicate ids, ...) are Compile's business.
func (rs *RuleSet) Lint(cov *Coverage) []Warning {
	var ws []Warning
	tl, tc := rs.keyPosition("thresholds")
	at := func(line, col int, msg string, args ...any) {
		ws = append(ws, Warning{File: rs.Name, Line: line, Col: col, Msg: fmt.Sprintf(msg, args...)})
	}
	t := rs.Thresholds
	if t.StepUp == t.Block {
		at(tl, tc, "thresholds: step_up equals block (%g): no score leads to step_up, only forced actions do", t.Block)
	}
	var reach float64
	forced := map[risk.Action]bool{}
	for _, r := range rs.Rules {
		if r.Mode != Enforce {
			continue
		}
		if r.Score > 0 {
			reach += r.Score
		}
		if r.HasAction {
			forced[r.Action] = true
			if by := t.Decide(r.Score); by > r.Action {
				at(r.Line, r.Col, "rule %q: forces %s, but its score %g alone reaches %s (%g): it never leads to less than %s",
					r.ID, r.Action, r.Score, by, thresholdOf(t, by), by)
			}
		}
	}
	if reach < t.Block && !forced[risk.Block] {
		at(tl, tc, "thresholds: block (%g) is unreachable: the positive scores of all enforce rules add up to %g and none forces block", t.Block, reach)
	}
	if t.StepUp < t.Block && reach < t.StepUp && !forced[risk.StepUp] && !forced[risk.Block] {
		at(tl, tc, "thresholds: step_up (%g) is unreachable: the positive scores of all enforce rules add up to %g and none forces an action", t.StepUp, reach)
	}
	ws = append(ws, rs.overlaps()...)
	if cov != nil {
		for _, r := range rs.Rules {
			n, m := cov.Evaluated[r.ID], cov.Matched[r.ID]
			switch {
			case n == 0:
			case m == 0:
				at(r.Line, r.Col, "rule %q never matched the corpus (0 of %d evaluations)", r.ID, n)
			case m == n:
				at(r.Line, r.Col, "rule %q matched every evaluation of the corpus (%d of %d)", r.ID, m, n)
			}
		}
	}
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].Line < ws[j].Line })
	return ws
}

func thresholdOf(t Thresholds, a risk.Action) float64 {
	if a == risk.Block {
		return t.Block
	}
	return t.StepUp
}

// bound is a rule whose whole condition is `field OP number`.
type bound struct {
	rule  *Rule
	field string
	op    string // >=, >, <= or <, with the field on the left
	value float64
}

// overlaps warns about enforced rules that compare the same field in the
// same direction (velocity.x >= 5 and velocity.x >= 10): from the stricter
// threshold on both match and their scores add up, which is often a tiered
// rule meant to replace, not add to, the lower tier.
func (rs *RuleSet) overlaps() []Warning {
	var bs []bound
	for _, r := range rs.Rules {
		if r.Mode != Enforce {
			continue
		}
		if b, ok := comparison(r); ok {
			bs = append(bs, b)
		}
	}
	var ws []Warning
	for j := range bs {
		for i := range j {
			a, b := bs[i], bs[j]
			if a.field != b.field || lower(a.op) != lower(b.op) {
				continue
			}
			strict := a
			if lower(a.op) && b.value > a.value || !lower(a.op) && b.value < a.value {
				strict = b
			}
			total := a.rule.Score + b.rule.Score
			dec := rs.Thresholds.Decide(total)
			for _, r := range []*Rule{a.rule, b.rule} {
				if r.HasAction {
					dec = max(dec, r.Action)
				}
			}
			ws = append(ws, Warning{File: rs.Name, Line: b.rule.Line, Col: b.rule.Col, Msg: fmt.Sprintf(
				"rule %q overlaps rule %q (line %d): both match when %s %s %g, adding up to score %g (%s)",
				b.rule.ID, a.rule.ID, a.rule.Line, strict.field, strict.op, strict.value, total, dec)})
		}
	}
	return ws
}

func lower(op string) bool { return op == ">=" || op == ">" }

// comparison recognises a rule whose condition is one numeric comparison
// of a field with a constant, either way round.
func comparison(r *Rule) (bound, bool) {
	tree, err := parser.Parse(r.When)
	if err != nil {
		return bound{}, false
	}
	b, ok := tree.Node.(*ast.BinaryNode)
	if !ok {
		return bound{}, false
	}
	flip := map[string]string{">=": "<=", ">": "<", "<=": ">=", "<": ">"}
	if _, ok := flip[b.Operator]; !ok {
		return bound{}, false
	}
	if f, ok := memberPath(b.Left); ok {
		if v, ok := number(b.Right); ok {
			return bound{rule: r, field: f, op: b.Operator, value: v}, true
		}
	}
	if f, ok := memberPath(b.Right); ok {
		if v, ok := number(b.Left); ok {
			return bound{rule: r, field: f, op: flip[b.Operator], value: v}, true
		}
	}
	return bound{}, false
}

func memberPath(n ast.Node) (string, bool) {
	m, ok := n.(*ast.MemberNode)
	if !ok {
		return "", false
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok {
		return "", false
	}
	p, ok := m.Property.(*ast.StringNode)
	if !ok {
		return "", false
	}
	return id.Value + "." + p.Value, true
}

func number(n ast.Node) (float64, bool) {
	switch v := n.(type) {
	case *ast.IntegerNode:
		return float64(v.Value), true
	case *ast.FloatNode:
		return v.Value, true
	case *ast.UnaryNode:
		if x, ok := number(v.Node); ok && v.Operator == "-" {
			return -x, true
		}
	}
	return 0, false
}

// keyPosition finds a top-level key of the rule file, for positions of
// warnings about file-level settings; 0, 0 when it cannot.
func (rs *RuleSet) keyPosition(key string) (line, col int) {
	var doc yaml.Node
	if yaml.Unmarshal(rs.source, &doc) != nil || len(doc.Content) == 0 {
		return 0, 0
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line, m.Content[i].Column
		}
	}
	return 0, 0
}
