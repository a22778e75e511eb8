package backtest

import (
	"cmp"
	"slices"

	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
)

// merge adds the workers' shares up into the report.
func merge(rs *rules.RuleSet, opts *Options, aggs []*agg) *Report {
	t := newAgg(rs, opts)
	for _, a := range aggs {
		t.lines += a.lines
		t.bytes += a.bytes
		t.blank += a.blank
		t.replayed += a.replayed
		t.skipped += a.skipped
		t.noFeatures += a.noFeatures
		t.malformed += a.malformed
		t.invalid += a.invalid
		t.changed += a.changed
		t.floored += a.floored
		t.floorHeld += a.floorHeld
		t.ruleErrors += a.ruleErrors
		for k, v := range a.classes {
			t.classes[k] += v
		}
		for k, v := range a.versions {
			t.versions[k] += v
		}
		for i := range numActions {
			t.before[i] += a.before[i]
			t.after[i] += a.after[i]
			for j := range numActions {
				t.matrix[i][j] += a.matrix[i][j]
				t.samples[i][j] = append(t.samples[i][j], a.samples[i][j]...)
			}
		}
		for i := range numBuckets {
			t.hBefore[i] += a.hBefore[i]
			t.hAfter[i] += a.hAfter[i]
		}
		for i := range t.candHits {
			t.candHits[i] += a.candHits[i]
			t.candErrs[i] += a.candErrs[i]
		}
		for k, v := range a.baseHits {
			t.baseHits[k] += v
		}
		t.baseOther += a.baseOther
		t.problems = append(t.problems, a.problems...)
		if !a.from.IsZero() && (t.from.IsZero() || a.from.Before(t.from)) {
			t.from = a.from
		}
		if a.to.After(t.to) {
			t.to = a.to
		}
	}
	return t.report(opts)
}

func (t *agg) report(opts *Options) *Report {
	rs := t.rs
	rep := &Report{
		Candidate: RuleSetInfo{Name: rs.Name, Version: rs.Version, Description: rs.Description,
			Thresholds: rs.Thresholds, Rules: len(rs.Rules)},
		Baseline: BaselineInfo{From: t.from, To: t.to},
		Totals: Totals{Lines: t.lines, Bytes: t.bytes, Blank: t.blank, Replayed: t.replayed, Skipped: t.skipped,
			NoFeatures: t.noFeatures, Malformed: t.malformed, InvalidFeatures: t.invalid, Changed: t.changed,
			Floored: t.floored, FloorHeld: t.floorHeld, RuleErrors: t.ruleErrors},
		SkippedClasses: []ClassCount{},
		Decisions:      DecisionMix{Before: countsOf(t.before), After: countsOf(t.after)},
		Scores:         ScoreHistogram{Buckets: buckets(), Before: t.hBefore[:], After: t.hAfter[:]},
		Changes:        []Change{},
		Problems:       []Problem{},
	}
	for k, v := range t.classes {
		rep.SkippedClasses = append(rep.SkippedClasses, ClassCount{ClassUID: k, Count: v})
	}
	slices.SortFunc(rep.SkippedClasses, func(a, b ClassCount) int { return cmp.Compare(a.ClassUID, b.ClassUID) })
	rep.Baseline.Versions = sortedVersions(t.versions)
	for i := range numActions {
		for j := range numActions {
			from, to := risk.Action(i), risk.Action(j)
			rep.Matrix = append(rep.Matrix, MatrixCell{From: from, To: to, Count: t.matrix[i][j]})
			if i == j || t.matrix[i][j] == 0 {
				continue
			}
			s := t.samples[i][j]
			slices.SortFunc(s, func(a, b Sample) int { return cmp.Compare(a.Line, b.Line) })
			if len(s) > opts.Samples {
				s = s[:opts.Samples]
			}
			rep.Changes = append(rep.Changes, Change{From: from, To: to, Count: t.matrix[i][j], Samples: nonNilSamples(s)})
		}
	}
	slices.SortFunc(t.problems, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	if len(t.problems) > opts.MaxProblems {
		t.problems = t.problems[:opts.MaxProblems]
	}
	rep.Problems = append(rep.Problems, t.problems...)
	t.ruleRows(rep, opts)
	return rep
}

func nonNilSamples(s []Sample) []Sample {
	if s == nil {
		return []Sample{}
	}
	return s
}

func sortedVersions(m map[string]int64) []VersionCount {
	out := make([]VersionCount, 0, len(m))
	var other int64
	for k, v := range m {
		if k == otherID {
			other = v
			continue
		}
		out = append(out, VersionCount{Version: k, Events: v})
	}
	slices.SortFunc(out, func(a, b VersionCount) int {
		if c := cmp.Compare(b.Events, a.Events); c != 0 {
			return c
		}
		return cmp.Compare(a.Version, b.Version)
	})
	if len(out) > maxVersions {
		// Workers each track up to maxVersions; keep the most frequent.
		for _, v := range out[maxVersions:] {
			other += v.Events
		}
		out = out[:maxVersions]
	}
	if other > 0 {
		out = append(out, VersionCount{Version: otherID, Events: other})
	}
	return out
}

// ruleRows builds the per-rule comparison and the added/removed lists.
func (t *agg) ruleRows(rep *Report, opts *Options) {
	rs := t.rs
	n := t.replayed
	inCandidate := make(map[string]bool, len(rs.Rules))
	var baseline map[string]bool
	if opts.Baseline != nil {
		rep.RuleChanges.Exact = true
		rep.Baseline.RuleFile = opts.Baseline.Version
		baseline = make(map[string]bool, len(opts.Baseline.Rules))
		for _, r := range opts.Baseline.Rules {
			baseline[r.ID] = true
		}
	}
	rep.RuleChanges.Added, rep.RuleChanges.Removed = []string{}, []string{}
	for i, r := range rs.Rules {
		inCandidate[r.ID] = true
		base := t.baseHits[r.ID]
		status := "kept"
		if (baseline != nil && !baseline[r.ID]) || (baseline == nil && base == 0) {
			status = "added"
			rep.RuleChanges.Added = append(rep.RuleChanges.Added, r.ID)
		}
		rep.Rules = append(rep.Rules, RuleStats{ID: r.ID, Description: r.Description, Mode: r.Mode.String(), Status: status,
			CandidateHits: t.candHits[i], CandidateRate: rate(t.candHits[i], n),
			BaselineHits: base, BaselineRate: rate(base, n), Errors: t.candErrs[i]})
	}
	removed := map[string]bool{}
	for id := range t.baseHits {
		if !inCandidate[id] {
			removed[id] = true
		}
	}
	for id := range baseline {
		if !inCandidate[id] {
			removed[id] = true
		}
	}
	ids := make([]string, 0, len(removed))
	for id := range removed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var extra []RuleStats
	for _, id := range ids {
		base := t.baseHits[id]
		extra = append(extra, RuleStats{ID: id, Status: "removed", BaselineHits: base, BaselineRate: rate(base, n)})
	}
	// Unknown ids beyond what is tracked: keep the most frequent listed.
	slices.SortStableFunc(extra, func(a, b RuleStats) int { return cmp.Compare(b.BaselineHits, a.BaselineHits) })
	other := t.baseOther
	if len(extra) > maxBaselineRules {
		for _, r := range extra[maxBaselineRules:] {
			other += r.BaselineHits
		}
		extra = extra[:maxBaselineRules]
	}
	slices.SortFunc(extra, func(a, b RuleStats) int { return cmp.Compare(a.ID, b.ID) })
	for _, r := range extra {
		rep.RuleChanges.Removed = append(rep.RuleChanges.Removed, r.ID)
	}
	rep.Rules = append(rep.Rules, extra...)
	if other > 0 {
		rep.RuleChanges.OtherBaselineRules = true
		rep.Rules = append(rep.Rules, RuleStats{ID: otherID, Status: "removed", BaselineHits: other, BaselineRate: rate(other, n)})
	}
}
