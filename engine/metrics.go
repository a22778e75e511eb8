package engine

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/leaf/promshard"
	"github.com/riskauth/riskauth/rules"
)

// Metrics are the engine's Prometheus series. Labels are bounded: decision
// names, signal names, rule ids (bounded by the rule file), never users or IPs.
//
// The series updated on every evaluation (decisions, durations, rule hits)
// are promshard's, sharded per P: client_golang's shared atomic words bounce
// a cache line between the cores on every observation. The others stay on
// client_golang.
type Metrics struct {
	decisions   *promshard.CounterVec
	duration    *promshard.Histogram
	signalDur   *promshard.HistogramVec
	signalErrs  *prometheus.CounterVec
	ruleHits    *promshard.CounterVec
	ruleErrs    *prometheus.CounterVec
	floored     prometheus.Counter
	floorCauses *prometheus.CounterVec
	shadowDiv   *prometheus.CounterVec
	feedback    *prometheus.CounterVec
	outcomes    *prometheus.CounterVec
	ruleSetInfo *prometheus.GaugeVec
	reloads     *prometheus.CounterVec

	// byAction holds riskauth_decisions_total's three series and hits the
	// rule-hit series already resolved, so that the hot path hashes no
	// label values (a label lookup costs about as much as a short rule).
	byAction [risk.Block + 1]*promshard.Counter
	hits     sync.Map // ruleHit -> *promshard.Counter
}

// ruleHit names one riskauth_rule_hits_total series.
type ruleHit struct{ rule, mode string }

// NewMetrics registers the engine's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		decisions: promshard.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_decisions_total", Help: "Decisions made, by decision.",
		}, []string{"decision"}),
		duration: promshard.NewHistogram(prometheus.HistogramOpts{
			Name: "riskauth_evaluation_duration_seconds", Help: "Time to evaluate one event, signals included.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1},
		}),
		signalDur: promshard.NewHistogramVec(prometheus.HistogramOpts{
			Name: "riskauth_signal_duration_seconds", Help: "Time each signal took.",
			Buckets: []float64{.00001, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05},
		}, []string{"signal"}),
		signalErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_signal_errors_total", Help: "Signals that failed or were late, by signal and reason (error|timeout).",
		}, []string{"signal", "reason"}),
		ruleHits: promshard.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_rule_hits_total", Help: "Rule matches, by rule id and mode.",
		}, []string{"rule", "mode"}),
		ruleErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_rule_errors_total", Help: "Rules that failed at evaluation time (counted as not matched).",
		}, []string{"rule"}),
		floored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "riskauth_unavailable_floor_total", Help: "Decisions raised to the floor because a signal was unavailable.",
		}),
		floorCauses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_floored_decisions_total",
			Help: "Decisions raised to the unavailable floor, by each unavailable signal that caused it (velocity: the state read; familiarity: the user's history or the global counts) and reason (timeout|error). A decision with two unavailable signals counts under both; riskauth_unavailable_floor_total counts it once.",
		}, []string{"signal", "reason"}),
		shadowDiv: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_shadow_divergence_total",
			Help: "Decisions that shadow rules (source=rules) or the candidate rule set (source=candidate) would have changed, by enforced (from) and would-be (to) decision.",
		}, []string{"from", "to", "source"}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_rule_feedback_total",
			Help: "Fraud/legit labels reported for evaluations a rule matched, by rule id, label and mode (enforce|shadow|candidate).",
		}, []string{"rule", "label", "mode"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_outcomes_total", Help: "Outcomes reported, by outcome and result (recorded|duplicate|unknown|error).",
		}, []string{"outcome", "result"}),
		ruleSetInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "riskauth_ruleset_info", Help: "The active rule set (value 1), by version and rule count.",
		}, []string{"version", "name"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_ruleset_reloads_total", Help: "Rule file reload attempts, by result (activated|rejected).",
		}, []string{"result"}),
	}
	reg.MustRegister(m.decisions, m.duration, m.signalDur, m.signalErrs, m.ruleHits, m.ruleErrs,
		m.floored, m.floorCauses, m.shadowDiv, m.feedback, m.outcomes, m.ruleSetInfo, m.reloads)
	for _, a := range []risk.Action{risk.Passwordless, risk.StepUp, risk.Block} {
		m.byAction[a] = m.decisions.WithLabelValues(a.String())
	}
	return m
}

// ruleHit counts one match of rule id in mode. The series are resolved
// once per (rule, mode) and kept: their number is bounded by the rule
// files, like the label values themselves.
func (m *Metrics) ruleHit(id, mode string) {
	k := ruleHit{id, mode}
	c, ok := m.hits.Load(k)
	if !ok {
		c, _ = m.hits.LoadOrStore(k, m.ruleHits.WithLabelValues(id, mode))
	}
	c.(*promshard.Counter).Inc()
}

// observe counts one finished decision. famFailed says that the
// familiarity score could not be computed (an unreadable history, missing
// global counts), which the decision's signal statuses do not show.
func (m *Metrics) observe(d *Decision, res *rules.Result, cand *rules.Result, famFailed bool) {
	if a := d.Action; a >= 0 && int(a) < len(m.byAction) {
		m.byAction[d.Action].Inc()
	} else {
		m.decisions.WithLabelValues(d.Action.String()).Inc()
	}
	m.duration.Observe(d.Latency.Seconds())
	for _, mt := range res.Matches {
		m.ruleHit(mt.Rule.ID, "enforce")
	}
	for _, mt := range res.Shadow {
		m.ruleHit(mt.Rule.ID, "shadow")
	}
	for _, e := range res.Errors {
		m.ruleErrs.WithLabelValues(e.Rule.ID).Inc()
	}
	if d.Floored {
		m.floored.Inc()
		m.floorCause(d.Signals, famFailed)
	}
	if d.ShadowAction != d.Action {
		m.shadowDiv.WithLabelValues(d.Action.String(), d.ShadowAction.String(), "rules").Inc()
	}
	if c := d.Candidate; c != nil {
		for _, mt := range cand.Matches {
			m.ruleHit(mt.Rule.ID, "candidate")
		}
		if c.Action != d.Action {
			m.shadowDiv.WithLabelValues(d.Action.String(), c.Action.String(), "candidate").Inc()
		}
	}
}

// floorCause counts a floored decision under each signal that was
// unavailable. Label values are bounded: signal names are the engine's
// (velocity, familiarity and the configured signals', checked unique at
// New) and reasons are finishSignal's two.
func (m *Metrics) floorCause(st SignalStatuses, famFailed bool) {
	for _, s := range st {
		if !s.Available {
			m.floorCauses.WithLabelValues(s.Name, s.Error).Inc()
		}
	}
	if famFailed {
		m.floorCauses.WithLabelValues("familiarity", "error").Inc()
	}
}

// FlooredDecisions is riskauth_floored_decisions_total{signal,reason},
// exposed for tests and for callers that read it in process.
func (m *Metrics) FlooredDecisions() *prometheus.CounterVec { return m.floorCauses }

// ruleFeedback counts an analyst's or user's label against every rule that
// matched the evaluation. Only ids of the loaded active or candidate set
// are counted, so that the label set stays bounded by the rule files
// whatever a shared store holds.
func (m *Metrics) ruleFeedback(p *Pending, o Outcome, active, cand *rules.RuleSet) {
	known := func(id string) bool {
		return active.Rule(id) != nil || (cand != nil && cand.Rule(id) != nil)
	}
	count := func(ids []string, mode string) {
		for _, id := range ids {
			if known(id) {
				m.feedback.WithLabelValues(id, string(o), mode).Inc()
			}
		}
	}
	count(p.Rules, "enforce")
	count(p.ShadowRules, "shadow")
	count(p.CandidateRules, "candidate")
}

// signalSeries are one signal's series, resolved once so that the hot
// path skips the label lookup.
type signalSeries struct {
	dur     *promshard.Histogram
	errors  prometheus.Counter
	timeout prometheus.Counter
}

func (m *Metrics) signalSeries(name string) signalSeries {
	return signalSeries{
		dur:     m.signalDur.WithLabelValues(name),
		errors:  m.signalErrs.WithLabelValues(name, "error"),
		timeout: m.signalErrs.WithLabelValues(name, "timeout"),
	}
}

func (s signalSeries) observe(dur time.Duration, reason string) {
	s.dur.Observe(dur.Seconds())
	switch reason {
	case "error":
		s.errors.Inc()
	case "timeout":
		s.timeout.Inc()
	}
}

func (m *Metrics) outcome(o Outcome, err error) {
	result := "recorded"
	switch {
	case err == nil:
	case errors.Is(err, ErrOutcomeRecorded):
		result = "duplicate"
	case errors.Is(err, ErrUnknownEvaluation):
		result = "unknown"
	default:
		result = "error"
	}
	m.outcomes.WithLabelValues(string(o), result).Inc()
}

func (m *Metrics) setRuleSet(rs *rules.RuleSet) {
	m.ruleSetInfo.Reset()
	m.ruleSetInfo.WithLabelValues(rs.Version, rs.Name).Set(1)
}

// RuleSetChanged is the rules.Source OnChange hook: it records the reload
// and exports the active version.
func (m *Metrics) RuleSetChanged(old, cur *rules.RuleSet, err error) {
	if err != nil {
		m.reloads.WithLabelValues("rejected").Inc()
		return
	}
	m.reloads.WithLabelValues("activated").Inc()
	m.setRuleSet(cur)
}

// ShadowDivergence is riskauth_shadow_divergence_total{from,to,source},
// exposed for tests and for callers that read it in process.
func (m *Metrics) ShadowDivergence() *prometheus.CounterVec { return m.shadowDiv }

// RuleFeedback is riskauth_rule_feedback_total{rule,label,mode}, exposed
// for tests and for callers that read it in process.
func (m *Metrics) RuleFeedback() *prometheus.CounterVec { return m.feedback }
