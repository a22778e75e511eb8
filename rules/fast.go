package rules

import (
	"reflect"
	"strings"
	"unsafe"

	"github.com/expr-lang/expr/ast"
	"github.com/riskauth/riskauth/engine/risk"
)

// The request path runs every rule on every evaluation, and expr's VM
// reads each field by reflection: a reflect.Value per read, one heap
// allocation to box the value, and a copy of the whole feature set into
// the typed environment per evaluation (Schema.envOf). For the conditions
// rule files are made of (fields, literals, comparisons, boolean and
// arithmetic operators, string tests, `in` a literal list) a rule is
// instead compiled into a tree of typed Go closures over *Features, built
// from the AST expr has already parsed, type-checked and optimised: the
// same semantics, no reflection, no allocation. Anything else (function
// calls, optional chaining, predicates, `%`, `**`, mixed-type equality, …)
// leaves the rule on the VM; both paths are checked against each other
// (TestFastMatchesVM, FuzzFastMatchesVM).

// access reads one field of a Features value. Offsets and kinds come from
// risk.Layout, which checked each field's type, so the unsafe reads below
// always read a value of the type they claim. (Counters and attr keys are
// per schema and per rule, which the layout does not know.)
type access struct {
	kind    reflect.Kind // Bool, Int, Float64, String, or Map for attr
	off     uintptr      // offset in Features (not for counters)
	counter int          // index in Velocity.Values, -1 for other fields
	key     string       // attr.<key>: the map key
}

func (a access) ptr(f *risk.Features) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(f), a.off) }

func (a access) bool(f *risk.Features) bool { return *(*bool)(a.ptr(f)) }

func (a access) int(f *risk.Features) int {
	if a.counter >= 0 {
		if a.counter < len(f.Velocity.Values) {
			return f.Velocity.Values[a.counter]
		}
		return 0
	}
	return *(*int)(a.ptr(f))
}

func (a access) float(f *risk.Features) float64 { return *(*float64)(a.ptr(f)) }

func (a access) string(f *risk.Features) string {
	if a.kind == reflect.Map {
		return (*(*map[string]string)(a.ptr(f)))[a.key]
	}
	return *(*string)(a.ptr(f))
}

// value boxes the field's value, as evidence reports it.
func (a access) value(f *risk.Features) any {
	switch a.kind {
	case reflect.Bool:
		return a.bool(f)
	case reflect.Int:
		return a.int(f)
	case reflect.Float64:
		return a.float(f)
	case reflect.String:
		return a.string(f)
	case reflect.Map:
		if a.key != "" {
			return a.string(f)
		}
		return *(*map[string]string)(a.ptr(f))
	}
	return nil
}

// accessors fills in each field's access from the feature layout
// (risk.Layout), which has checked every field's kind.
func (s *Schema) accessors() {
	layout := risk.Layout()
	for i := range s.fields {
		f := &s.fields[i]
		ns := &layout[f.index[0]]
		a := access{counter: -1}
		switch {
		case ns.Kind == risk.NamespaceVelocity && f.index[1] > 0:
			a.kind, a.counter = reflect.Int, f.index[1]-1
		case ns.Kind == risk.NamespaceAttr:
			a.kind, a.off = reflect.Map, ns.Offset
		default:
			fl := &ns.Fields[f.index[1]] // Velocity.Available is field 0 of both types
			a.kind, a.off = reflectKinds[fl.Kind], fl.Offset
		}
		f.acc = a
	}
}

// reflectKinds maps the layout's kinds onto the expr types' kinds.
var reflectKinds = [...]reflect.Kind{risk.KindBool: reflect.Bool, risk.KindInt: reflect.Int,
	risk.KindFloat: reflect.Float64, risk.KindString: reflect.String}

// fastExpr is one compiled node: exactly one of the functions is set,
// the one of kind.
type fastExpr struct {
	kind reflect.Kind
	b    func(*risk.Features) bool
	i    func(*risk.Features) int
	f    func(*risk.Features) float64
	s    func(*risk.Features) string
	// set is a constant `in` list ([]string or []int literal, which expr's
	// optimiser turns into a map): only valid as the right side of in.
	strSet map[string]struct{}
	intSet map[int]struct{}
}

// compileFast returns the closure form of a checked, optimised expr tree,
// or nil when the tree uses anything the closure compiler does not know.
func compileFast(s *Schema, root ast.Node) func(*risk.Features) bool {
	c := fastCompiler{schema: s}
	e, ok := c.node(root)
	if !ok || e.kind != reflect.Bool {
		return nil
	}
	return e.b
}

type fastCompiler struct{ schema *Schema }

func constant(v any) (fastExpr, bool) {
	switch v := v.(type) {
	case bool:
		return fastExpr{kind: reflect.Bool, b: func(*risk.Features) bool { return v }}, true
	case int:
		return fastExpr{kind: reflect.Int, i: func(*risk.Features) int { return v }}, true
	case float64:
		return fastExpr{kind: reflect.Float64, f: func(*risk.Features) float64 { return v }}, true
	case string:
		return fastExpr{kind: reflect.String, s: func(*risk.Features) string { return v }}, true
	case map[string]struct{}:
		return fastExpr{kind: reflect.Map, strSet: v}, true
	case map[int]struct{}:
		return fastExpr{kind: reflect.Map, intSet: v}, true
	}
	return fastExpr{}, false
}

func (c *fastCompiler) node(n ast.Node) (fastExpr, bool) {
	switch n := n.(type) {
	case *ast.BoolNode:
		return constant(n.Value)
	case *ast.IntegerNode:
		return constant(n.Value)
	case *ast.FloatNode:
		return constant(n.Value)
	case *ast.StringNode:
		return constant(n.Value)
	case *ast.ConstantNode:
		return constant(n.Value)
	case *ast.MemberNode:
		return c.member(n)
	case *ast.UnaryNode:
		return c.unary(n)
	case *ast.BinaryNode:
		return c.binary(n)
	case *ast.ConditionalNode:
		return c.conditional(n)
	}
	return fastExpr{}, false
}

// member compiles namespace.field and attr.key / attr["key"].
func (c *fastCompiler) member(n *ast.MemberNode) (fastExpr, bool) {
	if n.Optional || n.Method {
		return fastExpr{}, false
	}
	ns, ok := n.Node.(*ast.IdentifierNode)
	if !ok {
		return fastExpr{}, false
	}
	prop, ok := n.Property.(*ast.StringNode)
	if !ok {
		return fastExpr{}, false
	}
	if ns.Value == "attr" {
		f, ok := c.schema.Field("attr")
		if !ok {
			return fastExpr{}, false
		}
		a := f.acc
		a.key = prop.Value
		return fastExpr{kind: reflect.String, s: a.string}, true
	}
	f, ok := c.schema.Field(ns.Value + "." + prop.Value)
	if !ok {
		return fastExpr{}, false
	}
	a := f.acc
	switch a.kind {
	case reflect.Bool:
		return fastExpr{kind: reflect.Bool, b: a.bool}, true
	case reflect.Int:
		return fastExpr{kind: reflect.Int, i: a.int}, true
	case reflect.Float64:
		return fastExpr{kind: reflect.Float64, f: a.float}, true
	case reflect.String:
		return fastExpr{kind: reflect.String, s: a.string}, true
	}
	return fastExpr{}, false
}

func (c *fastCompiler) unary(n *ast.UnaryNode) (fastExpr, bool) {
	x, ok := c.node(n.Node)
	if !ok {
		return fastExpr{}, false
	}
	switch {
	case (n.Operator == "!" || n.Operator == "not") && x.kind == reflect.Bool:
		b := x.b
		return fastExpr{kind: reflect.Bool, b: func(f *risk.Features) bool { return !b(f) }}, true
	case n.Operator == "+" && (x.kind == reflect.Int || x.kind == reflect.Float64):
		return x, true
	case n.Operator == "-" && x.kind == reflect.Int:
		i := x.i
		return fastExpr{kind: reflect.Int, i: func(f *risk.Features) int { return -i(f) }}, true
	case n.Operator == "-" && x.kind == reflect.Float64:
		fl := x.f
		return fastExpr{kind: reflect.Float64, f: func(f *risk.Features) float64 { return -fl(f) }}, true
	}
	return fastExpr{}, false
}

// pick is cond ? x : y.
func pick[T any](cond func(*risk.Features) bool, x, y func(*risk.Features) T) func(*risk.Features) T {
	return func(f *risk.Features) T {
		if cond(f) {
			return x(f)
		}
		return y(f)
	}
}

func (c *fastCompiler) conditional(n *ast.ConditionalNode) (fastExpr, bool) {
	cond, ok1 := c.node(n.Cond)
	a, ok2 := c.node(n.Exp1)
	b, ok3 := c.node(n.Exp2)
	if !ok1 || !ok2 || !ok3 || cond.kind != reflect.Bool || a.kind != b.kind {
		return fastExpr{}, false
	}
	p := cond.b
	switch a.kind {
	case reflect.Bool:
		return fastExpr{kind: a.kind, b: pick(p, a.b, b.b)}, true
	case reflect.Int:
		return fastExpr{kind: a.kind, i: pick(p, a.i, b.i)}, true
	case reflect.Float64:
		return fastExpr{kind: a.kind, f: pick(p, a.f, b.f)}, true
	case reflect.String:
		return fastExpr{kind: a.kind, s: pick(p, a.s, b.s)}, true
	}
	return fastExpr{}, false
}

func numeric(k reflect.Kind) bool { return k == reflect.Int || k == reflect.Float64 }

// asFloat widens an int expression, as expr does when an operation mixes
// int and float.
func asFloat(e fastExpr) func(*risk.Features) float64 {
	if e.kind == reflect.Float64 {
		return e.f
	}
	i := e.i
	return func(f *risk.Features) float64 { return float64(i(f)) }
}

func boolExpr(fn func(*risk.Features) bool) (fastExpr, bool) {
	return fastExpr{kind: reflect.Bool, b: fn}, true
}

func (c *fastCompiler) binary(n *ast.BinaryNode) (fastExpr, bool) {
	l, ok := c.node(n.Left)
	if !ok {
		return fastExpr{}, false
	}
	r, ok := c.node(n.Right)
	if !ok {
		return fastExpr{}, false
	}
	switch n.Operator {
	case "&&", "and", "||", "or":
		if l.kind != reflect.Bool || r.kind != reflect.Bool {
			return fastExpr{}, false
		}
		x, y := l.b, r.b
		if n.Operator == "&&" || n.Operator == "and" {
			return boolExpr(func(f *risk.Features) bool { return x(f) && y(f) })
		}
		return boolExpr(func(f *risk.Features) bool { return x(f) || y(f) })
	case "==", "!=":
		eq, ok := equal(l, r)
		if !ok {
			return fastExpr{}, false
		}
		if n.Operator == "!=" {
			return boolExpr(func(f *risk.Features) bool { return !eq(f) })
		}
		return boolExpr(eq)
	case "<", "<=", ">", ">=":
		return compare(n.Operator, l, r)
	case "+", "-", "*", "/":
		return arithmetic(n.Operator, l, r)
	case "contains", "startsWith", "endsWith":
		if l.kind != reflect.String || r.kind != reflect.String {
			return fastExpr{}, false
		}
		x, y := l.s, r.s
		switch n.Operator {
		case "contains":
			return boolExpr(func(f *risk.Features) bool { return strings.Contains(x(f), y(f)) })
		case "startsWith":
			return boolExpr(func(f *risk.Features) bool { return strings.HasPrefix(x(f), y(f)) })
		}
		return boolExpr(func(f *risk.Features) bool { return strings.HasSuffix(x(f), y(f)) })
	case "in":
		switch {
		case l.kind == reflect.String && r.strSet != nil:
			x, set := l.s, r.strSet
			return boolExpr(func(f *risk.Features) bool { _, ok := set[x(f)]; return ok })
		case l.kind == reflect.Int && r.intSet != nil:
			x, set := l.i, r.intSet
			return boolExpr(func(f *risk.Features) bool { _, ok := set[x(f)]; return ok })
		}
	}
	return fastExpr{}, false
}

// equal compiles a == b for operands of one kind, and for int against
// float (compared as floats, as expr does). Other mixes are left to the
// VM.
func equal(l, r fastExpr) (func(*risk.Features) bool, bool) {
	switch {
	case l.kind == reflect.Bool && r.kind == reflect.Bool:
		return same(l.b, r.b), true
	case l.kind == reflect.String && r.kind == reflect.String:
		return same(l.s, r.s), true
	case l.kind == reflect.Int && r.kind == reflect.Int:
		return same(l.i, r.i), true
	case numeric(l.kind) && numeric(r.kind):
		return same(asFloat(l), asFloat(r)), true
	}
	return nil, false
}

// same is x == y.
func same[T comparable](x, y func(*risk.Features) T) func(*risk.Features) bool {
	return func(f *risk.Features) bool { return x(f) == y(f) }
}

func compare(op string, l, r fastExpr) (fastExpr, bool) {
	switch {
	case l.kind == reflect.Int && r.kind == reflect.Int:
		return ordered(op, l.i, r.i)
	case l.kind == reflect.String && r.kind == reflect.String:
		return ordered(op, l.s, r.s)
	case numeric(l.kind) && numeric(r.kind):
		return ordered(op, asFloat(l), asFloat(r))
	}
	return fastExpr{}, false
}

func ordered[T int | float64 | string](op string, x, y func(*risk.Features) T) (fastExpr, bool) {
	switch op {
	case "<":
		return boolExpr(func(f *risk.Features) bool { return x(f) < y(f) })
	case "<=":
		return boolExpr(func(f *risk.Features) bool { return x(f) <= y(f) })
	case ">":
		return boolExpr(func(f *risk.Features) bool { return x(f) > y(f) })
	}
	return boolExpr(func(f *risk.Features) bool { return x(f) >= y(f) })
}

// arithmetic compiles + - * / the way expr computes them: int with int
// stays int (wrapping on overflow, as Go does), any float makes the result
// float, / always divides as floats (so 7 / 2 is 3.5 and x / 0 is ±Inf or
// NaN, never a panic), and + also joins strings.
func arithmetic(op string, l, r fastExpr) (fastExpr, bool) {
	switch {
	case op == "+" && l.kind == reflect.String && r.kind == reflect.String:
		x, y := l.s, r.s
		return fastExpr{kind: reflect.String, s: func(f *risk.Features) string { return x(f) + y(f) }}, true
	case !numeric(l.kind) || !numeric(r.kind):
		return fastExpr{}, false
	case op != "/" && l.kind == reflect.Int && r.kind == reflect.Int:
		x, y := l.i, r.i
		var fn func(*risk.Features) int
		switch op {
		case "+":
			fn = func(f *risk.Features) int { return x(f) + y(f) }
		case "-":
			fn = func(f *risk.Features) int { return x(f) - y(f) }
		default:
			fn = func(f *risk.Features) int { return x(f) * y(f) }
		}
		return fastExpr{kind: reflect.Int, i: fn}, true
	}
	x, y := asFloat(l), asFloat(r)
	var fn func(*risk.Features) float64
	switch op {
	case "+":
		fn = func(f *risk.Features) float64 { return x(f) + y(f) }
	case "-":
		fn = func(f *risk.Features) float64 { return x(f) - y(f) }
	case "*":
		fn = func(f *risk.Features) float64 { return x(f) * y(f) }
	default:
		fn = func(f *risk.Features) float64 { return x(f) / y(f) }
	}
	return fastExpr{kind: reflect.Float64, f: fn}, true
}
