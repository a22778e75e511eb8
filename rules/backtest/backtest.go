package backtest

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
)

// Defaults and hard limits of Options.
const (
	// DefaultSamples is how many sample events a report keeps per changed
	// from→to pair.
	DefaultSamples = 5
	// MaxSamples bounds Options.Samples: samples are the only per-event
	// data a backtest keeps, so they bound its memory.
	MaxSamples = 1000
	// DefaultMaxProblems is how many unreplayable lines are listed.
	DefaultMaxProblems = 20
	// DefaultMaxLineBytes is the longest line read; a decision event is a
	// few KiB, so anything near this is not one.
	DefaultMaxLineBytes = 1 << 20

	// classAuthentication is OCSF's Authentication class, the decisions.
	classAuthentication = 3002
	// maxVersions and maxBaselineRules bound what is tracked by id from
	// untrusted input (ruleset_version, recorded reason rule ids).
	maxVersions      = 32
	maxBaselineRules = 1024
	otherID          = "(other)"
	// maxErrorText bounds the error text kept per listed problem: a JSON
	// error may quote the input.
	maxErrorText = 200
	// batchLines and batchBytes size the units handed to workers: big
	// enough that channel hand-offs are rare, small enough that a few in
	// flight per worker stay far below a megabyte or two each.
	batchLines = 256
	batchBytes = 512 << 10
)

const numActions = 3

// Options tune a backtest; the zero value is usable.
type Options struct {
	// Samples per changed from→to pair (default DefaultSamples, at most
	// MaxSamples; negative keeps none).
	Samples int
	// MaxProblems is how many unreplayable lines are listed (default
	// DefaultMaxProblems; negative lists none). All are counted.
	MaxProblems int
	// MaxLineBytes is the longest line accepted (default
	// DefaultMaxLineBytes); longer lines are malformed.
	MaxLineBytes int
	// Workers evaluate in parallel (default GOMAXPROCS).
	Workers int
	// Baseline, when set, is the rule set the recorded run used: added and
	// removed rules are then exact instead of inferred from reasons.
	Baseline *rules.RuleSet
}

func (o *Options) defaults() {
	switch {
	case o.Samples == 0:
		o.Samples = DefaultSamples
	case o.Samples < 0:
		o.Samples = 0
	case o.Samples > MaxSamples:
		o.Samples = MaxSamples
	}
	switch {
	case o.MaxProblems == 0:
		o.MaxProblems = DefaultMaxProblems
	case o.MaxProblems < 0:
		o.MaxProblems = 0
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
}

// ErrNoRules: Run needs a candidate rule set.
var ErrNoRules = errors.New("backtest: no candidate rule set")

// batch is a run of consecutive input lines: data holds them back to
// back, ends[i] is where line first+i ends.
type batch struct {
	first int64
	data  []byte
	ends  []int
}

// Run replays every decision event read from r through candidate and
// reports the difference with the recorded decisions. It fails only when
// reading r fails or ctx is cancelled; bad lines are counted and listed
// in the report.
//
// Floored events: a recorded decision that was raised to the
// unavailable-signal floor (floored: true) is exactly the floor, because
// the engine raises a lower verdict to the floor and nothing else. The
// candidate's decision for such an event is therefore max(candidate
// verdict, recorded decision): the same signal was unavailable, so the
// same floor applies. Totals.FloorHeld counts where that made a
// difference.
func Run(ctx context.Context, r io.Reader, candidate *rules.RuleSet, opts Options) (*Report, error) {
	if candidate == nil {
		return nil, ErrNoRules
	}
	opts.defaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// A fixed set of batches circulates between the reader and the
	// workers: it bounds the input held in memory, and reusing them keeps
	// half-megabyte buffers out of the garbage.
	nbatches := 2*opts.Workers + 1
	free := make(chan *batch, nbatches)
	allocated := 0
	get := func() *batch {
		select {
		case b := <-free:
			return b
		default:
		}
		if allocated < nbatches {
			allocated++
			return &batch{data: make([]byte, 0, batchBytes+4096), ends: make([]int, 0, batchLines)}
		}
		return <-free
	}
	work := make(chan *batch, nbatches)
	aggs := make([]*agg, opts.Workers)
	var wg sync.WaitGroup
	for i := range aggs {
		aggs[i] = newAgg(candidate, &opts)
		wg.Add(1)
		go func(a *agg) {
			defer wg.Done()
			for b := range work {
				a.batch(b)
				b.data, b.ends = b.data[:0], b.ends[:0]
				free <- b
			}
		}(aggs[i])
	}

	reader := newAgg(candidate, &opts) // lines rejected while reading
	readErr := readLines(ctx, r, &opts, reader, get, work)
	close(work)
	wg.Wait()
	if readErr != nil {
		return nil, readErr
	}
	return merge(candidate, &opts, append(aggs, reader)), nil
}

// readLines splits r into batches of lines for the workers. Over-long
// lines are reported on rd and skipped up to their newline; a batch never
// spans one, so each batch's lines stay consecutive.
func readLines(ctx context.Context, r io.Reader, opts *Options, rd *agg, get func() *batch, work chan<- *batch) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		line int64 // lines completed so far
		b    = get()
		long bool // inside an over-long line
		size int  // bytes of the current line so far
	)
	b.first = 1
	send := func() error {
		if len(b.ends) > 0 {
			select {
			case work <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			b = get()
		}
		b.first = line + 1
		return nil
	}
	for {
		chunk, err := br.ReadSlice('\n')
		rd.bytes += int64(len(chunk))
		if !long {
			if size+len(chunk) > opts.MaxLineBytes+1 { // +1: the newline
				long = true
				b.data = b.data[:len(b.data)-size]
			} else {
				b.data = append(b.data, chunk...)
				size += len(chunk)
			}
		}
		eof := errors.Is(err, io.EOF)
		if err == nil || (eof && (size > 0 || long)) {
			line++
			rd.lines++
			switch {
			case long:
				rd.malformed++
				rd.problem(line, ProblemMalformed, fmt.Sprintf("line longer than %d bytes", opts.MaxLineBytes))
				if err := send(); err != nil {
					return err
				}
			default:
				b.ends = append(b.ends, len(b.data))
				if len(b.ends) >= batchLines || len(b.data) >= batchBytes {
					if err := send(); err != nil {
						return err
					}
				}
			}
			long, size = false, 0
		}
		switch {
		case err == nil || errors.Is(err, bufio.ErrBufferFull):
		case eof:
			return send()
		default:
			return fmt.Errorf("backtest: read events: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

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
