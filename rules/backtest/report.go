package backtest

import (
	"math"
	"strconv"
	"time"

	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
)

// Report is the outcome of a backtest. Its JSON field names are stable
// (documented in docs/backtest.md): scripts and dashboards read them.
type Report struct {
	// Candidate describes the rule set the events were replayed through.
	Candidate RuleSetInfo `json:"candidate"`
	// Baseline describes the recorded run: the rule-set versions that made
	// the recorded decisions, most frequent first.
	Baseline BaselineInfo `json:"baseline"`
	Totals   Totals       `json:"totals"`
	// SkippedClasses counts the non-decision messages skipped, by OCSF
	// class_uid (2004 Detection Finding, 3001 Account Change, ...).
	SkippedClasses []ClassCount `json:"skipped_classes"`
	// Decisions is the decision mix before (recorded) and after
	// (candidate) over the replayed events.
	Decisions DecisionMix `json:"decisions"`
	// Matrix has one cell per (before, after) pair, all nine always
	// present, rows in decision order.
	Matrix []MatrixCell `json:"matrix"`
	// Scores are the score histograms before and after, on fixed buckets.
	Scores ScoreHistogram `json:"scores"`
	// Rules has one row per rule of the candidate (file order), then one
	// per rule seen only in the recorded reasons (by id).
	Rules []RuleStats `json:"rules"`
	// RuleChanges lists the rules added to and removed from the candidate
	// compared with the baseline.
	RuleChanges RuleChanges `json:"rule_changes"`
	// Changes lists every from→to pair whose decision changed, with up to
	// Options.Samples sample events each (lowest line numbers first).
	Changes []Change `json:"changes"`
	// Problems are lines that could not be replayed, lowest line numbers
	// first, at most Options.MaxProblems of them; Totals counts them all.
	Problems []Problem `json:"problems"`
}

// RuleSetInfo names a rule set and its thresholds.
type RuleSetInfo struct {
	Name        string           `json:"name"`
	Version     string           `json:"version"`
	Description string           `json:"description,omitempty"`
	Thresholds  rules.Thresholds `json:"thresholds"`
	Rules       int              `json:"rules"`
}

// BaselineInfo describes the recorded run.
type BaselineInfo struct {
	// Versions counts replayed events by the ruleset_version they carry;
	// beyond maxVersions distinct versions the rest are summed under
	// "(other)".
	Versions []VersionCount `json:"versions"`
	// RuleFile is the baseline rule file's version when one was given
	// (exact added/removed rules), empty otherwise.
	RuleFile string `json:"rule_file,omitempty"`
	// From and To bound the replayed events' times (zero when none).
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// VersionCount is how many replayed events a rule-set version decided.
type VersionCount struct {
	Version string `json:"version"`
	Events  int64  `json:"events"`
}

// Totals count the input.
type Totals struct {
	// Lines read, including blank ones.
	Lines int64 `json:"lines"`
	// Bytes read.
	Bytes int64 `json:"bytes"`
	// Blank lines are ignored.
	Blank int64 `json:"blank"`
	// Replayed decision events: parsed, features rebuilt, evaluated.
	Replayed int64 `json:"replayed"`
	// Skipped messages of another class (see Report.SkippedClasses).
	Skipped int64 `json:"skipped"`
	// NoFeatures are decision events without a feature snapshot: they
	// cannot be replayed and are counted, not listed.
	NoFeatures int64 `json:"no_features"`
	// Malformed lines: not JSON, not an OCSF message, a broken decision or
	// longer than the line limit.
	Malformed int64 `json:"malformed"`
	// InvalidFeatures are snapshots the candidate's schema rejects (an
	// unknown velocity counter: pass the deployment's -config).
	InvalidFeatures int64 `json:"invalid_features"`
	// Changed replayed events got another decision from the candidate.
	Changed int64 `json:"changed"`
	// Floored recorded decisions were raised to the unavailable-signal
	// floor; FloorHeld of them kept the floor because the candidate's own
	// verdict was lower.
	Floored   int64 `json:"floored"`
	FloorHeld int64 `json:"floor_held"`
	// RuleErrors counts candidate rules failing at evaluation (counted as
	// not matched), over all events and rules.
	RuleErrors int64 `json:"rule_errors"`
}

// ClassCount counts skipped messages of one OCSF class.
type ClassCount struct {
	ClassUID int   `json:"class_uid"`
	Count    int64 `json:"count"`
}

// DecisionMix counts replayed events per decision.
type DecisionMix struct {
	Before Counts `json:"before"`
	After  Counts `json:"after"`
}

// Counts has one count per decision.
type Counts struct {
	Passwordless int64 `json:"passwordless"`
	StepUp       int64 `json:"step_up"`
	Block        int64 `json:"block"`
}

// Get returns the count for a decision.
func (c Counts) Get(a risk.Action) int64 {
	switch a {
	case risk.StepUp:
		return c.StepUp
	case risk.Block:
		return c.Block
	}
	return c.Passwordless
}

func countsOf(n [numActions]int64) Counts {
	return Counts{Passwordless: n[risk.Passwordless], StepUp: n[risk.StepUp], Block: n[risk.Block]}
}

// MatrixCell counts replayed events recorded as From and decided To by
// the candidate.
type MatrixCell struct {
	From  risk.Action `json:"from"`
	To    risk.Action `json:"to"`
	Count int64       `json:"count"`
}

// ScoreHistogram counts scores in fixed buckets, so that two reports (and
// before/after) compare bucket by bucket.
type ScoreHistogram struct {
	Buckets []Bucket `json:"buckets"`
	Before  []int64  `json:"before"`
	After   []int64  `json:"after"`
}

// Bucket is a half-open score range [Min, Max); the first bucket has no
// lower bound and the last no upper bound (null in JSON).
type Bucket struct {
	Label string   `json:"label"`
	Min   *float64 `json:"min"`
	Max   *float64 `json:"max"`
}

// Score buckets: below zero, tens from 0 to 100, then 100 and above.
// Thresholds are usually multiples of ten, so a bucket never straddles one.
const (
	bucketWidth = 10
	numBuckets  = 12
)

func bucketOf(score float64) int {
	switch {
	case math.IsNaN(score) || score < 0:
		return 0
	case score >= 100:
		return numBuckets - 1
	}
	return 1 + int(score/bucketWidth)
}

func buckets() []Bucket {
	out := make([]Bucket, numBuckets)
	f := func(v float64) *float64 { return &v }
	out[0] = Bucket{Label: "< 0", Max: f(0)}
	for i := 1; i < numBuckets-1; i++ {
		lo := float64((i - 1) * bucketWidth)
		out[i] = Bucket{Label: strconv.Itoa(int(lo)) + "–" + strconv.Itoa(int(lo)+bucketWidth-1), Min: f(lo), Max: f(lo + bucketWidth)}
	}
	out[numBuckets-1] = Bucket{Label: "≥ 100", Min: f(100)}
	return out
}

// RuleStats compares one rule's hits in the candidate and in the recorded
// run. Rates are hits per replayed event.
type RuleStats struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	// Mode is enforce or shadow for candidate rules, empty for rules the
	// candidate does not have.
	Mode string `json:"mode,omitempty"`
	// Status is "kept", "added" (in the candidate only) or "removed" (in
	// the baseline only); see RuleChanges for how it is known.
	Status        string  `json:"status"`
	CandidateHits int64   `json:"candidate_hits"`
	CandidateRate float64 `json:"candidate_rate"`
	// BaselineHits counts the recorded reasons naming the rule: enforced
	// matches only (shadow matches of the recorded run are not replayed).
	BaselineHits int64   `json:"baseline_hits"`
	BaselineRate float64 `json:"baseline_rate"`
	// Errors counts evaluation failures of the candidate rule.
	Errors int64 `json:"errors"`
}

// RuleChanges are the rules added to and removed from the candidate. With
// a baseline rule file they are exact (Exact true). Without one the
// baseline is only known through the recorded reasons: Removed are rule
// ids that matched in the recorded run and are not in the candidate;
// Added are candidate rules that never appear in a recorded reason (new,
// or never matched on this input).
type RuleChanges struct {
	Exact   bool     `json:"exact"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	// OtherBaselineRules is set when the recorded reasons named more
	// distinct unknown rule ids than are tracked; their hits are summed in
	// a "(other)" row.
	OtherBaselineRules bool `json:"other_baseline_rules,omitempty"`
}

// Change is one from→to pair whose decision changed.
type Change struct {
	From    risk.Action `json:"from"`
	To      risk.Action `json:"to"`
	Count   int64       `json:"count"`
	Samples []Sample    `json:"samples"`
}

// Sample is one replayed event whose decision changed.
type Sample struct {
	// Line is the event's 1-based line number in the input.
	Line         int64     `json:"line"`
	ID           string    `json:"id"`
	EvaluationID string    `json:"evaluation_id"`
	Time         time.Time `json:"time"`
	Kind         string    `json:"kind,omitempty"`
	UserID       string    `json:"user_id,omitempty"`
	Identifier   string    `json:"identifier,omitempty"`
	IP           string    `json:"ip,omitempty"`
	Before       Verdict   `json:"before"`
	After        Verdict   `json:"after"`
}

// Verdict is one side of a sample: decision, score and the enforced
// rules that matched, most decisive first.
type Verdict struct {
	Decision risk.Action `json:"decision"`
	Score    float64     `json:"score"`
	Rules    []string    `json:"rules"`
	// Floored (before): the recorded decision was raised to the floor;
	// (after): the floor held the candidate's decision up.
	Floored bool `json:"floored,omitempty"`
	// Shadow (after only) are the candidate's shadow rules that matched.
	Shadow []string `json:"shadow,omitempty"`
}

// Problem is a line that could not be replayed.
type Problem struct {
	Line  int64  `json:"line"`
	Kind  string `json:"kind"` // malformed or invalid_features
	Error string `json:"error"`
}

// Problem kinds.
const (
	ProblemMalformed       = "malformed"
	ProblemInvalidFeatures = "invalid_features"
)

func rate(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}
