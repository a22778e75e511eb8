package backtest

import (
	"bytes"
	"errors"
	"time"

	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
)

// agg is one worker's share of the report. Everything in it merges by
// addition, except samples and problems, which keep the lowest line
// numbers: each worker sees increasing line numbers, so the first ones it
// keeps are its lowest.
type agg struct {
	rs     *rules.RuleSet
	opts   *Options
	idx    map[*rules.Rule]int
	parser *parser

	lines, bytes, blank, replayed, skipped, noFeatures, malformed, invalid int64
	changed, floored, floorHeld, ruleErrors                                int64

	classes   map[int]int64
	versions  map[string]int64
	before    [numActions]int64
	after     [numActions]int64
	matrix    [numActions][numActions]int64
	hBefore   [numBuckets]int64
	hAfter    [numBuckets]int64
	candHits  []int64
	candErrs  []int64
	baseHits  map[string]int64
	baseOther int64
	samples   [numActions][numActions][]Sample
	problems  []Problem
	from, to  time.Time
}

func newAgg(rs *rules.RuleSet, opts *Options) *agg {
	a := &agg{rs: rs, opts: opts, idx: make(map[*rules.Rule]int, len(rs.Rules)), parser: newParser(rs.Schema()),
		classes: map[int]int64{}, versions: map[string]int64{}, baseHits: map[string]int64{},
		candHits: make([]int64, len(rs.Rules)), candErrs: make([]int64, len(rs.Rules))}
	for i, r := range rs.Rules {
		a.idx[r] = i
	}
	return a
}

func (a *agg) problem(line int64, kind, msg string) {
	if len(a.problems) >= a.opts.MaxProblems {
		return
	}
	if len(msg) > maxErrorText {
		msg = msg[:maxErrorText] + "…"
	}
	a.problems = append(a.problems, Problem{Line: line, Kind: kind, Error: msg})
}

func (a *agg) batch(b *batch) {
	start := 0
	for i, end := range b.ends {
		a.line(b.first+int64(i), b.data[start:end])
		start = end
	}
}

func (a *agg) line(n int64, data []byte) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		a.blank++
		return
	}
	rec, err := a.parser.parse(data)
	if err != nil {
		if errors.Is(err, ocsf.ErrNotDecision) && a.parser.class != 0 && a.parser.class != classAuthentication {
			a.skipped++
			a.classes[a.parser.class]++
			return
		}
		a.malformed++
		a.problem(n, ProblemMalformed, err.Error())
		return
	}
	if rec.featuresErr != nil {
		a.invalid++
		a.problem(n, ProblemInvalidFeatures, rec.featuresErr.Error())
		return
	}
	if rec.features == nil {
		a.noFeatures++
		return
	}
	res := a.rs.Evaluate(rec.features, rec.Time)
	a.replay(n, &rec.DecisionRecord, &res)
}

func (a *agg) replay(n int64, rec *ocsf.DecisionRecord, res *rules.Result) {
	a.replayed++
	if a.from.IsZero() || rec.Time.Before(a.from) {
		a.from = rec.Time
	}
	if rec.Time.After(a.to) {
		a.to = rec.Time
	}
	if _, ok := a.versions[rec.RuleSetVersion]; ok || len(a.versions) < maxVersions {
		a.versions[rec.RuleSetVersion]++
	} else {
		a.versions[otherID]++
	}
	before := clampAction(rec.Decision)
	after := res.Action
	held := false
	if rec.Floored {
		a.floored++
		if after < before {
			after, held = before, true
			a.floorHeld++
		}
	}
	a.before[before]++
	a.after[after]++
	a.matrix[before][after]++
	a.hBefore[bucketOf(rec.Score)]++
	a.hAfter[bucketOf(res.Score)]++
	for _, m := range res.Matches {
		a.candHits[a.idx[m.Rule]]++
	}
	for _, m := range res.Shadow {
		a.candHits[a.idx[m.Rule]]++
	}
	for _, e := range res.Errors {
		a.candErrs[a.idx[e.Rule]]++
		a.ruleErrors++
	}
	for _, id := range rec.Rules {
		if _, ok := a.baseHits[id]; ok || len(a.baseHits) < maxBaselineRules {
			a.baseHits[id]++
		} else {
			a.baseOther++
		}
	}
	if before == after {
		return
	}
	a.changed++
	if len(a.samples[before][after]) >= a.opts.Samples {
		return
	}
	s := Sample{Line: n, ID: rec.ID, EvaluationID: rec.EvaluationID, Time: rec.Time, Kind: rec.Kind,
		UserID: rec.UserID, Identifier: rec.Identifier, IP: rec.IP,
		Before: Verdict{Decision: before, Score: rec.Score, Rules: nonNil(rec.Rules), Floored: rec.Floored},
		After:  Verdict{Decision: after, Score: res.Score, Rules: nonNil(rules.MatchIDs(res.Matches)), Floored: held}}
	if len(res.Shadow) > 0 {
		s.After.Shadow = rules.MatchIDs(res.Shadow)
	}
	a.samples[before][after] = append(a.samples[before][after], s)
}

// clampAction guards the matrix against an out-of-range action; ParseDecision
// only returns the three, but an index from input deserves the check.
func clampAction(x risk.Action) risk.Action {
	return min(max(x, risk.Passwordless), risk.Block)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
