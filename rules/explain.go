package rules

import (
	"fmt"
	"sort"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/riskauth/riskauth/engine/risk"
)

// Explanation is why a rule set reaches its decision for one feature set:
// every rule (matched or not, and which of its conditions held), the score
// build-up and the decision. It is what `riskctl rules explain` prints; it
// is built by Explain, off the hot path, so that Evaluate stays as cheap as
// it is.
type Explanation struct {
	RuleSet string `json:"rule_set"`
	Version string `json:"version"`
	// At is when the features were observed (the event's time).
	At         time.Time  `json:"at"`
	Thresholds Thresholds `json:"thresholds"`
	// Features are the values of every field of the catalogue (and each
	// attribute as attr.<key>), in catalogue order: the signals as the
	// rules saw them.
	Features []risk.Evidence   `json:"features"`
	Rules    []RuleExplanation `json:"rules"`
	// Contributions are the matching enforced rules in file order, each
	// with the running total, so the score can be followed step by step.
	Contributions []Contribution `json:"contributions"`
	// Score is the sum of the enforced contributions.
	Score float64 `json:"score"`
	// ScoreDecision is what the thresholds make of Score alone.
	ScoreDecision risk.Action `json:"score_decision"`
	// Forced are the matching enforced rules that force an action.
	Forced []ForcedAction `json:"forced,omitempty"`
	// Decision is max(forced actions, ScoreDecision): the same as
	// Evaluate's Result.Action.
	Decision risk.Action `json:"decision"`
	// Shadow is what the matching shadow rules would have added; the
	// decision then is ShadowDecision (Evaluate's Result.ShadowAction).
	Shadow         []Contribution `json:"shadow_contributions,omitempty"`
	ShadowForced   []ForcedAction `json:"shadow_forced,omitempty"`
	ShadowScore    float64        `json:"shadow_score"`
	ShadowDecision risk.Action    `json:"shadow_decision"`
}

// RuleExplanation is one rule's verdict on the features.
type RuleExplanation struct {
	ID          string  `json:"id"`
	Description string  `json:"description"`
	Mode        Mode    `json:"mode"`
	Line        int     `json:"line"`
	When        string  `json:"when"`
	Score       float64 `json:"score"`
	// Action is the forced decision, empty when the rule forces none.
	Action  string `json:"action,omitempty"`
	Matched bool   `json:"matched"`
	// Error is set when the rule failed at evaluation time (it then
	// counts as not matched, as in Evaluate).
	Error string `json:"error,omitempty"`
	// Fields are the values of every field the rule reads or reports.
	Fields []risk.Evidence `json:"fields"`
	// Why breaks a `when` made of && and || into its conditions, each with
	// its own value, so an analyst sees which one failed. A `when` that is
	// a single condition has one entry.
	Why []Condition `json:"why"`
}

// Condition is one operand of a rule's && / || chain and its value.
type Condition struct {
	// Op joins this condition to the previous one (&& or ||); empty for
	// the first.
	Op string `json:"op,omitempty"`
	// Expr is the condition's text, as expr prints the parsed source.
	Expr string `json:"expr"`
	// Value is what the condition evaluates to on its own (evaluated even
	// where the full expression short-circuits), nil when Error is set.
	Value any    `json:"value"`
	Error string `json:"error,omitempty"`
	// Parts break a nested && / || chain down further.
	Parts []Condition `json:"parts,omitempty"`
}

// Contribution is one matching rule's score and the running total.
type Contribution struct {
	Rule  string  `json:"rule"`
	Score float64 `json:"score"`
	Total float64 `json:"total"`
}

// ForcedAction is a matching rule that forces at least an action.
type ForcedAction struct {
	Rule   string      `json:"rule"`
	Action risk.Action `json:"action"`
}

// maxWhyDepth bounds how deep nested && / || chains are broken down; deeper
// chains are shown as one condition.
const maxWhyDepth = 3

// Explain evaluates every rule, enforce and shadow, against the features
// and says why each matched or not. Unlike Evaluate it leaves the hit
// counters alone (an explanation is not traffic) and compiles each
// condition of a chain separately, which is why it is for analysts and
// tools, never for the request path. now is when the features were
// observed; it is reported, not used to stamp hits.
func (rs *RuleSet) Explain(f *risk.Features, now time.Time) Explanation {
	env := rs.schema.envOf(f)
	envIface := env.Interface()
	var machine vm.VM
	x := Explanation{RuleSet: rs.Name, Version: rs.Version, At: now.UTC(), Thresholds: rs.Thresholds,
		Features: rs.schema.values(f)}
	forced, shadowForced := risk.Passwordless, risk.Passwordless
	for _, r := range rs.Rules {
		re := RuleExplanation{ID: r.ID, Description: r.Description, Mode: r.Mode, Line: r.Line, When: r.When,
			Score: r.Score, Fields: featureEvidence(f, r.fields)}
		if r.HasAction {
			re.Action = r.Action.String()
		}
		if re.Fields == nil {
			re.Fields = []risk.Evidence{}
		}
		out, err := machine.Run(r.program, envIface)
		if err != nil {
			re.Error = err.Error()
		} else {
			re.Matched, _ = out.(bool)
		}
		re.Why = rs.why(r, envIface)
		x.Rules = append(x.Rules, re)
		if !re.Matched {
			continue
		}
		// The shadow score counts every match; Shadow and ShadowForced
		// list what the shadow rules add on top of the enforced ones,
		// with the running total of all.
		x.ShadowScore += r.Score
		if r.HasAction {
			shadowForced = max(shadowForced, r.Action)
		}
		if r.Mode == Shadow {
			x.Shadow = append(x.Shadow, Contribution{Rule: r.ID, Score: r.Score, Total: x.ShadowScore})
			if r.HasAction {
				x.ShadowForced = append(x.ShadowForced, ForcedAction{Rule: r.ID, Action: r.Action})
			}
			continue
		}
		x.Score += r.Score
		x.Contributions = append(x.Contributions, Contribution{Rule: r.ID, Score: r.Score, Total: x.Score})
		if r.HasAction {
			forced = max(forced, r.Action)
			x.Forced = append(x.Forced, ForcedAction{Rule: r.ID, Action: r.Action})
		}
	}
	x.ScoreDecision = rs.Thresholds.Decide(x.Score)
	x.Decision = max(forced, x.ScoreDecision)
	x.ShadowDecision = max(shadowForced, rs.Thresholds.Decide(x.ShadowScore))
	if x.Contributions == nil {
		x.Contributions = []Contribution{}
	}
	return x
}

// why breaks a rule's condition into its && / || operands and evaluates
// each on its own. The source is parsed again without optimisation, so the
// conditions read as the analyst wrote them.
func (rs *RuleSet) why(r *Rule, env any) []Condition {
	tree, err := parser.Parse(r.When)
	if err != nil { // cannot happen for a compiled rule; say so rather than panic
		return []Condition{{Expr: r.When, Error: err.Error()}}
	}
	return rs.conditions(tree.Node, env, 0)
}

// conditions lists the operands of n's && / || chain (n itself when it is
// not a chain), each evaluated.
func (rs *RuleSet) conditions(n ast.Node, env any, depth int) []Condition {
	op := boolOp(n)
	if op == "" || depth >= maxWhyDepth {
		return []Condition{rs.condition(n, "", env, depth)}
	}
	var ops []ast.Node
	flattenChain(n, op, &ops)
	out := make([]Condition, len(ops))
	for i, o := range ops {
		join := op
		if i == 0 {
			join = ""
		}
		out[i] = rs.condition(o, join, env, depth)
	}
	return out
}

// condition evaluates one operand, and breaks it down further when it is
// itself a chain of the other operator (a || b inside an && chain).
func (rs *RuleSet) condition(n ast.Node, join string, env any, depth int) Condition {
	c := Condition{Op: join, Expr: n.String()}
	if boolOp(n) != "" && depth+1 < maxWhyDepth {
		c.Parts = rs.conditions(n, env, depth+1)
	}
	prog, err := expr.Compile(c.Expr, append([]expr.Option{expr.Env(reflectZero(rs.schema))}, rs.helpers...)...)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	var machine vm.VM
	v, err := machine.Run(prog, env)
	if err != nil {
		c.Error = err.Error()
		return c
	}
	c.Value = v
	return c
}

// boolOp returns && or || when the node is that operator, else "".
func boolOp(n ast.Node) string {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return ""
	}
	switch b.Operator {
	case "&&", "and":
		return "&&"
	case "||", "or":
		return "||"
	}
	return ""
}

// flattenChain collects the operands of a left- or right-nested chain of
// one boolean operator: a && b && c gives [a b c].
func flattenChain(n ast.Node, op string, out *[]ast.Node) {
	if boolOp(n) == op {
		b := n.(*ast.BinaryNode)
		flattenChain(b.Left, op, out)
		flattenChain(b.Right, op, out)
		return
	}
	*out = append(*out, n)
}

// String renders a condition's value for people: true, false, or the error.
func (c Condition) String() string {
	if c.Error != "" {
		return "error: " + c.Error
	}
	return fmt.Sprint(c.Value)
}

// values reads every catalogue field of the features, attributes expanded
// one per key in key order.
func (s *Schema) values(feat *risk.Features) []risk.Evidence {
	var out []risk.Evidence
	for _, f := range s.fields {
		v := f.acc.value(feat)
		attrs, ok := v.(map[string]string)
		if !ok {
			out = append(out, risk.Evidence{Field: f.Path, Value: v})
			continue
		}
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, risk.Evidence{Field: f.Path + "." + k, Value: attrs[k]})
		}
	}
	return out
}
