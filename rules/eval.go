package rules

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/riskauth/riskauth/engine/risk"
)

// Match is a rule that matched an event, with the values it read.
type Match struct {
	Rule     *Rule
	Evidence []risk.Evidence
}

// RuleError is a rule that failed at evaluation time (it counts as not
// matched; evaluation goes on).
type RuleError struct {
	Rule *Rule
	Err  error
}

// Result is what a rule set concludes about one feature set.
type Result struct {
	// Score is the sum of the scores of the matching enforced rules.
	Score float64
	// Action is max(forced actions, thresholds(Score)) over enforced rules.
	Action risk.Action
	// Matches are the enforced rules that matched, most decisive first:
	// forced actions (block before step_up), then by score, then file order.
	Matches []Match
	// Shadow are the shadow rules that matched, in the same order.
	Shadow []Match
	// ShadowScore and ShadowAction are what Score and Action would be if
	// the shadow rules were enforced too.
	ShadowScore  float64
	ShadowAction risk.Action
	Errors       []RuleError
}

// Evaluate runs every rule against the features. It never panics: a rule
// that fails at run time is reported in Result.Errors and counts as not
// matched. now stamps the rules' last-hit time.
func (rs *RuleSet) Evaluate(f *risk.Features, now time.Time) Result {
	// The environment copy and a VM are only needed by rules the closure
	// compiler left to expr (fast.go); the default rule file has none.
	var (
		envIface any
		machine  *vm.VM
	)
	run := func(r *Rule) (any, error) {
		if machine == nil {
			envIface = rs.schema.envOf(f).Interface()
			machine, _ = rs.vms.Get().(*vm.VM)
			if machine == nil {
				machine = &vm.VM{}
			}
		}
		return machine.Run(r.program, envIface)
	}
	defer func() {
		if machine != nil {
			rs.vms.Put(machine)
		}
	}()

	var res Result
	forced, shadowForced := risk.Passwordless, risk.Passwordless
	for _, r := range rs.Rules {
		if r.fast != nil {
			if !r.fast(f) {
				continue
			}
		} else {
			out, err := run(r)
			if err != nil {
				res.Errors = append(res.Errors, RuleError{Rule: r, Err: fmt.Errorf("rule %s: %w", r.ID, err)})
				continue
			}
			if ok, _ := out.(bool); !ok {
				continue
			}
		}
		r.hit(now)
		m := Match{Rule: r, Evidence: featureEvidence(f, r.fields)}
		res.ShadowScore += r.Score
		if r.HasAction {
			shadowForced = max(shadowForced, r.Action)
		}
		if r.Mode == Shadow {
			res.Shadow = append(res.Shadow, m)
			continue
		}
		res.Score += r.Score
		if r.HasAction {
			forced = max(forced, r.Action)
		}
		res.Matches = append(res.Matches, m)
	}
	res.Action = max(forced, rs.Thresholds.Decide(res.Score))
	res.ShadowAction = max(shadowForced, rs.Thresholds.Decide(res.ShadowScore))
	sortMatches(res.Matches)
	sortMatches(res.Shadow)
	return res
}

// hit counts a match at now. The last-hit time is written only when it
// moves by a millisecond or more: both cores match the same rules, and a
// store per match would move the counter's cache line between them twice
// as often for a precision no one reads (Hits reports it to analysts).
func (r *Rule) hit(now time.Time) {
	r.hits.Add(1)
	if t := now.UnixNano(); t-r.lastHit.Load() >= int64(time.Millisecond) {
		r.lastHit.Store(t)
	}
}

// MatchIDs returns the ids of the matched rules, in order; nil for none.
func MatchIDs(ms []Match) []string {
	if len(ms) == 0 {
		return nil
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Rule.ID
	}
	return out
}

func sortMatches(ms []Match) {
	if len(ms) < 2 {
		return
	}
	slices.SortStableFunc(ms, func(a, b Match) int {
		ra, rb := a.Rule, b.Rule
		fa, fb := forcedRank(ra), forcedRank(rb)
		if c := cmp.Compare(fb, fa); c != 0 {
			return c
		}
		if c := cmp.Compare(rb.Score, ra.Score); c != 0 {
			return c
		}
		return cmp.Compare(ra.index, rb.index)
	})
}

func forcedRank(r *Rule) int {
	if !r.HasAction {
		return -1
	}
	return int(r.Action)
}

// featureEvidence is evidence read straight from the features.
func featureEvidence(f *risk.Features, fields []Field) []risk.Evidence {
	if len(fields) == 0 {
		return nil
	}
	out := make([]risk.Evidence, len(fields))
	for i, fl := range fields {
		out[i] = risk.Evidence{Field: fl.Path, Value: fl.acc.value(f)}
	}
	return out
}

func runOne(r *Rule, env any) (any, error) {
	var machine vm.VM
	return machine.Run(r.program, env)
}
