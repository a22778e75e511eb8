package rules

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/riskauth/riskauth/engine/risk"
	"go.yaml.in/yaml/v3"
)

// Mode says whether a rule changes decisions.
type Mode int

// Enforce rules change decisions; shadow rules are evaluated and reported
// (metrics, decision events) but never change what the user gets.
const (
	Enforce Mode = iota
	Shadow
)

func (m Mode) String() string {
	if m == Shadow {
		return "shadow"
	}
	return "enforce"
}

// MarshalText renders the mode's name.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// Thresholds map a score to a decision.
type Thresholds struct {
	StepUp float64 `json:"step_up"`
	Block  float64 `json:"block"`
}

// Decide returns the decision a score alone leads to.
func (t Thresholds) Decide(score float64) risk.Action {
	switch {
	case score >= t.Block:
		return risk.Block
	case score >= t.StepUp:
		return risk.StepUp
	}
	return risk.Passwordless
}

// Rule is one compiled rule.
type Rule struct {
	ID          string
	Description string
	When        string
	Score       float64
	// Action is the forced decision when HasAction.
	Action    risk.Action
	HasAction bool
	Alert     risk.Severity
	Mode      Mode
	Tags      []string
	Cases     []RuleCase
	// Line and Col locate the rule's id in its file.
	Line, Col int

	// Fields are the feature paths the expression reads, reported as
	// evidence when the rule matches.
	Fields  []string
	program *vm.Program
	// fast is the closure form of When (fast.go), nil when the rule uses
	// something only the VM runs.
	fast   func(*risk.Features) bool
	fields []Field
	index  int

	hits    atomic.Uint64
	lastHit atomic.Int64
}

// Hits returns how often the rule matched since the rule set was loaded,
// and the unix-nano time of the last match (0 when never).
func (r *Rule) Hits() (n uint64, lastUnixNano int64) { return r.hits.Load(), r.lastHit.Load() }

// RuleSet is a compiled, validated rule file. It is immutable once built
// (hit counters aside) and safe for concurrent use.
type RuleSet struct {
	Name        string
	Version     string
	Description string
	Thresholds  Thresholds
	Rules       []*Rule
	Cases       []FileCase

	schema *Schema
	source []byte
	vms    sync.Pool
	// helpers are the rule author functions the set was compiled with;
	// Explain compiles single conditions with them.
	helpers []expr.Option
}

// Source returns the file content the set was compiled from.
func (rs *RuleSet) Source() []byte { return rs.source }

// Schema returns the environment the set was compiled against.
func (rs *RuleSet) Schema() *Schema { return rs.schema }

// Rule returns the rule with this id, or nil.
func (rs *RuleSet) Rule(id string) *Rule {
	for _, r := range rs.Rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// Option adjusts compilation.
type Option func(*options)

type options struct {
	lists   map[string]map[string]struct{}
	baseDir string
}

// WithBaseDir sets the directory list files are relative to (LoadFile and
// Source set it to the rule file's directory).
func WithBaseDir(dir string) Option { return func(o *options) { o.baseDir = dir } }

// WithLists makes named value lists (countries, ASNs, ...) available to
// rules through in_list("name", value).
func WithLists(lists map[string][]string) Option {
	return func(o *options) {
		if o.lists == nil {
			o.lists = make(map[string]map[string]struct{}, len(lists))
		}
		for name, vals := range lists {
			set := make(map[string]struct{}, len(vals))
			for _, v := range vals {
				set[normaliseListValue(v)] = struct{}{}
			}
			o.lists[name] = set
		}
	}
}

// helpers are the functions rule authors may call, registered per compile
// (never globally) with typed signatures so misuse is a load error.
func (o *options) helpers() []expr.Option {
	lists := o.lists
	return []expr.Option{
		expr.Function("in_cidr", func(p ...any) (any, error) {
			ip, err := netip.ParseAddr(p[0].(string))
			if err != nil {
				return false, nil
			}
			pfx, err := netip.ParsePrefix(p[1].(string))
			if err != nil {
				return false, fmt.Errorf("in_cidr: %w", err)
			}
			return pfx.Contains(ip.Unmap()), nil
		}, new(func(string, string) bool)),
		expr.Function("in_list", func(p ...any) (any, error) {
			set, ok := lists[p[0].(string)]
			if !ok {
				return false, fmt.Errorf("in_list: no list named %q", p[0])
			}
			var key string
			switch v := p[1].(type) {
			case string:
				key = normaliseListValue(v)
			case int:
				key = strconv.Itoa(v)
			}
			_, hit := set[key]
			return hit, nil
		}, new(func(string, string) bool), new(func(string, int) bool)),
	}
}

func (r *Rule) compile(schema *Schema, cfg *options) error {
	env := reflectZero(schema)
	opts := append([]expr.Option{expr.Env(env), expr.AsBool(), expr.Optimize(true)}, cfg.helpers()...)
	prog, err := expr.Compile(r.When, opts...)
	if err != nil {
		return err
	}
	if err := checkListNames(prog.Node(), cfg); err != nil {
		return err.Bind(prog.Source())
	}
	r.program = prog
	r.fast = compileFast(schema, prog.Node())
	for _, p := range referencedFields(prog.Node()) {
		_ = r.addEvidence(schema, p) // compiled, so every path is known
	}
	return nil
}

// addEvidence adds a field to the values reported when the rule matches.
func (r *Rule) addEvidence(schema *Schema, path string) error {
	if slices.Contains(r.Fields, path) {
		return nil
	}
	f, ok := schema.Field(path)
	switch {
	case ok:
	case strings.HasPrefix(path, "attr."):
		f, _ = schema.Field("attr")
		f.Path, f.acc.key = path, strings.TrimPrefix(path, "attr.")
	default:
		return unknownField(schema, path)
	}
	r.Fields = append(r.Fields, path)
	r.fields = append(r.fields, f)
	return nil
}

// reflectZero is the environment value rules compile against. It is the
// struct, not a pointer to it: expr then resolves every field access to a
// fixed index path at compile time (OpLoadField) instead of a lookup by
// name at run time. Programs still run against a pointer (FetchField
// dereferences it), which saves copying the environment per evaluation.
func reflectZero(s *Schema) any { return s.envOf(s.NewFeatures()).Elem().Interface() }

// referencedFields walks the expression for namespace.field accesses.
func referencedFields(root ast.Node) []string {
	var v fieldVisitor
	ast.Walk(&root, &v)
	slices.Sort(v.paths)
	return slices.Compact(v.paths)
}

type fieldVisitor struct{ paths []string }

func (v *fieldVisitor) Visit(n *ast.Node) {
	m, ok := (*n).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok {
		return
	}
	if prop, ok := m.Property.(*ast.StringNode); ok {
		v.paths = append(v.paths, id.Value+"."+prop.Value)
	}
}

func checkListNames(root ast.Node, cfg *options) *file.Error {
	var err *file.Error
	ast.Walk(&root, visitFunc(func(n *ast.Node) {
		c, ok := (*n).(*ast.CallNode)
		if !ok || err != nil {
			return
		}
		if id, ok := c.Callee.(*ast.IdentifierNode); !ok || id.Value != "in_list" || len(c.Arguments) == 0 {
			return
		}
		s, ok := c.Arguments[0].(*ast.StringNode)
		if !ok {
			err = &file.Error{Location: c.Location(), Message: "in_list: the list name must be a string literal"}
			return
		}
		if _, ok := cfg.lists[s.Value]; !ok {
			err = &file.Error{Location: c.Location(), Message: fmt.Sprintf("in_list: no list named %q", s.Value)}
		}
	}))
	return err
}

type visitFunc func(*ast.Node)

func (f visitFunc) Visit(n *ast.Node) { f(n) }

var memberRe = regexp.MustCompile(`\b([a-z_]+)\.([a-z_0-9]+)\b`)

// exprError turns an expr compile error into a positioned Error, with a
// "did you mean" hint for misspelt fields.
func exprError(fileName string, src []byte, id string, when *yaml.Node, err error, schema *Schema) Error {
	e := Error{File: fileName, Line: when.Line, Col: when.Column}
	msg := err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = fe.Message
		line, col := fe.Line, fe.Column // col counts runes before the error
		block := when.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
		switch {
		case block:
			// Block scalar content starts on the line after the indicator,
			// indented; expr counts from the content's first line.
			e.Line = when.Line + max(line, 1)
			e.Col = indentOf(src, when.Line+1) + col + 1
		case line <= 1:
			off := 0
			if when.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
				off = 1
			}
			e.Col = when.Column + col + off
		}
	}
	for _, m := range memberRe.FindAllStringSubmatch(when.Value, -1) {
		p := m[0]
		if _, ok := schema.Field(p); ok {
			continue
		}
		// expr names the Go type, which means nothing to an analyst.
		s := suggestFields(schema, p)
		if !isNamespace(schema, m[1]) && len(s) == 0 {
			continue // not a field access (a domain in a string, ...)
		}
		if len(s) > 0 {
			msg = fmt.Sprintf("unknown field %s: did you mean %s?", p, didYouMean(s))
		} else {
			msg = fmt.Sprintf("unknown field %s (`riskctl rules fields` lists them all)", p)
		}
		break
	}
	e.Msg = fmt.Sprintf("rule %q: when: %s", id, strings.TrimSpace(msg))
	return e
}

// indentOf returns the number of leading spaces on a 1-based line.
func indentOf(src []byte, line int) int {
	for i := 1; i < line; i++ {
		j := strings.IndexByte(string(src), '\n')
		if j < 0 {
			return 0
		}
		src = src[j+1:]
	}
	n := 0
	for n < len(src) && src[n] == ' ' {
		n++
	}
	return n
}

func isNamespace(s *Schema, name string) bool {
	for _, f := range s.fields {
		if strings.HasPrefix(f.Path, name+".") {
			return true
		}
	}
	return false
}
