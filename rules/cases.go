package rules

import (
	"fmt"
	"github.com/riskauth/riskauth/engine/risk"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
)

// RuleCase is an inline test case of one rule: given these features, the
// rule matches (or not).
type RuleCase struct {
	Name  string
	Given map[string]any
	Match bool
}

// FileCase is a rule-file level test case: given these features, the set
// decides this and these enforced rules match.
type FileCase struct {
	Name     string
	Given    map[string]any
	Decision *risk.Action
	// Rules are the ids of the enforced rules expected to match, in any
	// order, when CheckRules.
	Rules      []string
	CheckRules bool
}

// CaseResult is the outcome of one test case.
type CaseResult struct {
	Name string
	// Rule is the rule an inline case belongs to; empty for file cases.
	Rule   string
	Passed bool
	// Diff says what differed, one line per difference.
	Diff []string
}

// CasesFailedError is how SetCandidate and Promote refuse a rule file
// whose own test cases fail: its author said what it must do, and it does
// not. Nothing changed. Results holds every case, passed or not.
type CasesFailedError struct{ Results []CaseResult }

func (e *CasesFailedError) Error() string {
	failed := 0
	for _, r := range e.Results {
		if !r.Passed {
			failed++
		}
	}
	return fmt.Sprintf("%d of %d test cases of the rule file fail", failed, len(e.Results))
}

// passingCases runs rs's cases: a *CasesFailedError when any fails.
func passingCases(rs *RuleSet) error {
	res := rs.RunCases()
	for _, r := range res {
		if !r.Passed {
			return &CasesFailedError{Results: res}
		}
	}
	return nil
}

// RunCases runs every inline and file-level test case. Cases evaluate
// against a copy of the set so the live hit counters stay untouched.
func (rs *RuleSet) RunCases() []CaseResult {
	iso := rs.clone()
	var out []CaseResult
	epoch := time.Unix(0, 0)
	for _, r := range iso.Rules {
		for _, c := range r.Cases {
			f, err := iso.schema.FeaturesFromMap(c.Given)
			res := CaseResult{Name: c.Name, Rule: r.ID, Passed: true}
			if err != nil {
				res.Passed, res.Diff = false, []string{"given: " + err.Error()}
				out = append(out, res)
				continue
			}
			got, err := r.matches(iso.schema, f)
			switch {
			case err != nil:
				res.Passed, res.Diff = false, []string{"evaluation error: " + err.Error()}
			case got != c.Match:
				res.Passed, res.Diff = false, []string{fmt.Sprintf("match: want %t, got %t", c.Match, got)}
			}
			out = append(out, res)
		}
	}
	for _, c := range iso.Cases {
		res := CaseResult{Name: c.Name, Passed: true}
		f, err := iso.schema.FeaturesFromMap(c.Given)
		if err != nil {
			res.Passed, res.Diff = false, []string{"given: " + err.Error()}
			out = append(out, res)
			continue
		}
		ev := iso.Evaluate(f, epoch)
		for _, e := range ev.Errors {
			res.Diff = append(res.Diff, "evaluation error: "+e.Err.Error())
		}
		if c.Decision != nil && *c.Decision != ev.Action {
			res.Diff = append(res.Diff, fmt.Sprintf("decision: want %s, got %s (score %g)", *c.Decision, ev.Action, ev.Score))
		}
		if c.CheckRules {
			var got []string
			for _, m := range ev.Matches {
				got = append(got, m.Rule.ID)
			}
			want := slices.Clone(c.Rules)
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				res.Diff = append(res.Diff, fmt.Sprintf("rules: want [%s], got [%s]", strings.Join(want, " "), strings.Join(got, " ")))
			}
		}
		res.Passed = len(res.Diff) == 0
		out = append(out, res)
	}
	return out
}

func (r *Rule) matches(s *Schema, f *risk.Features) (bool, error) {
	if r.fast != nil { // what Evaluate runs
		return r.fast(f), nil
	}
	out, err := runOne(r, s.envOf(f).Interface())
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

// clone returns a copy of the set whose rules have fresh hit counters.
func (rs *RuleSet) clone() *RuleSet {
	c := &RuleSet{Name: rs.Name, Version: rs.Version, Description: rs.Description, Thresholds: rs.Thresholds,
		Cases: rs.Cases, schema: rs.schema, source: rs.source}
	for _, r := range rs.Rules {
		nr := &Rule{ID: r.ID, Description: r.Description, When: r.When, Score: r.Score, Action: r.Action,
			HasAction: r.HasAction, Alert: r.Alert, Mode: r.Mode, Tags: r.Tags, Cases: r.Cases, Line: r.Line, Col: r.Col,
			Fields: r.Fields, program: r.program, fast: r.fast, fields: r.fields, index: r.index}
		c.Rules = append(c.Rules, nr)
	}
	return c
}

// FeaturesFromMap builds a feature set from a nested map, as written in
// test cases, scenario files and `riskctl rules explain` input:
//
//	{geo: {country: RU}, velocity: {ip_failures_10m: 3}, attr: {plan: free}}
//
// Namespaces not given are available with zero values. Unknown namespaces
// or fields and wrong types are errors.
func (s *Schema) FeaturesFromMap(given map[string]any) (*risk.Features, error) {
	f := s.NewFeatures()
	f.User.Available, f.Geo.Available, f.Breached.Available, f.Velocity.Available = true, true, true, true
	fv := reflect.ValueOf(f).Elem()
	ft := fv.Type()
	var errs []string
	nsNames := make([]string, 0, len(given))
	for k := range given {
		nsNames = append(nsNames, k)
	}
	sort.Strings(nsNames)
	for _, ns := range nsNames {
		raw := given[ns]
		idx := -1
		for i := range ft.NumField() {
			if ft.Field(i).Tag.Get("expr") == ns {
				idx = i
			}
		}
		if idx < 0 {
			errs = append(errs, unknownNamespace(ns))
			continue
		}
		fields, ok := raw.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: want a mapping of fields", ns))
			continue
		}
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, name := range names {
			if err := s.setField(f, fv.Field(idx), ns, name, fields[name]); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return f, nil
}

func (s *Schema) setField(f *risk.Features, ns reflect.Value, nsName, name string, val any) error {
	path := nsName + "." + name
	switch nsName {
	case "attr":
		if f.Attr == nil {
			f.Attr = map[string]string{}
		}
		f.Attr[name] = fmt.Sprint(val)
		return nil
	case "velocity":
		if name == "available" {
			b, ok := val.(bool)
			if !ok {
				return fmt.Errorf("%s: want a bool", path)
			}
			f.Velocity.Available = b
			return nil
		}
		i, ok := s.index[name]
		if !ok {
			return unknownField(s, path)
		}
		n, ok := toInt(val)
		if !ok {
			return fmt.Errorf("%s: want an integer, got %v", path, val)
		}
		f.Velocity.Values[i] = n
		return nil
	}
	t := ns.Type()
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("expr") != name {
			continue
		}
		fv := ns.Field(i)
		switch fv.Kind() {
		case reflect.Bool:
			b, ok := val.(bool)
			if !ok {
				return fmt.Errorf("%s: want a bool, got %v", path, val)
			}
			fv.SetBool(b)
		case reflect.Int:
			n, ok := toInt(val)
			if !ok {
				return fmt.Errorf("%s: want an integer, got %v", path, val)
			}
			fv.SetInt(int64(n))
		case reflect.Float64:
			x, ok := toFloat(val)
			if !ok {
				return fmt.Errorf("%s: want a number, got %v", path, val)
			}
			fv.SetFloat(x)
		case reflect.String:
			str, ok := val.(string)
			if !ok {
				return fmt.Errorf("%s: want a string, got %v", path, val)
			}
			fv.SetString(str)
		}
		return nil
	}
	return unknownField(s, path)
}

func unknownField(s *Schema, path string) error {
	if sug := suggestFields(s, path); len(sug) > 0 {
		return fmt.Errorf("unknown field %s (did you mean %s?)", path, didYouMean(sug))
	}
	return fmt.Errorf("unknown field %s", path)
}

func toInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case int64:
		return int(x), true
	case uint64:
		return int(x), true
	case float64:
		if x == float64(int(x)) {
			return int(x), true
		}
	}
	return 0, false
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
