// Package scenario replays timestamped event sequences through an engine on
// a virtual clock and compares the decisions with what the scenario
// expects. Scenario tests, and analysts' scenario files, use it; it holds
// no engine logic of its own and is not for production traffic.
//
// A scenario is a YAML file:
//
//	description: one IP tries many accounts
//	start: 2026-11-28T10:00:00Z
//	steps:
//	  - event: {kind: login, identifier: "user{i}@example.com", ip: 203.0.113.7}
//	    repeat: 30        # {i} counts 1..30 in strings
//	    every: 5s         # virtual time between repeats
//	    outcome: failure  # reported after each decision
//	    expect_last: {decision: block, reasons: [credential-stuffing-ip]}
//	  - after: 1m         # virtual time before this step
//	    event: {...}
//	    expect: {decision: step_up, reasons_include: [new-device]}
//
// Run returns the failed expectations (what the engine's scenario tests
// need); Replay reports every expectation, passed or failed, and lets the
// caller observe each decision (what `riskctl rules test` and rule coverage
// in `riskctl rules lint` need). docs/rules.md is the format reference.
package scenario

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/risk"
	"go.yaml.in/yaml/v3"
)

// Scenario is a decoded scenario file.
type Scenario struct {
	Description string `yaml:"description"`
	// Signals names the optional signals the scenario needs ("geo"); the
	// harness that builds the engine provides them.
	Signals []string  `yaml:"signals"`
	Start   time.Time `yaml:"start"`
	Steps   []Step    `yaml:"steps"`
}

// Step is one event, possibly repeated.
type Step struct {
	Name string `yaml:"name"`
	// After advances the virtual clock before the step.
	After time.Duration `yaml:"after"`
	Event EventSpec     `yaml:"event"`
	// Repeat sends the event this many times (default 1), Every apart;
	// "{i}" in the event's strings is replaced by the repetition number.
	Repeat int           `yaml:"repeat"`
	Every  time.Duration `yaml:"every"`
	// Outcome is reported after each decision (success, failure,
	// step_up_passed, ...); empty reports nothing.
	Outcome string `yaml:"outcome"`
	// Expect applies to every repetition, ExpectLast to the last one.
	Expect     *Expect `yaml:"expect"`
	ExpectLast *Expect `yaml:"expect_last"`
}

// EventSpec is an event as written in a scenario.
type EventSpec struct {
	Kind       string                   `yaml:"kind"`
	UserID     string                   `yaml:"user_id"`
	Identifier string                   `yaml:"identifier"`
	IP         string                   `yaml:"ip"`
	UserAgent  string                   `yaml:"user_agent"`
	Device     *engine.DeviceDescriptor `yaml:"device"`
	Password   string                   `yaml:"password"`
	Attributes map[string]string        `yaml:"attributes"`
}

// Expect is what a decision must look like.
type Expect struct {
	Decision string `yaml:"decision"`
	// Reasons, when given, must be exactly the enforced rules that matched.
	Reasons *[]string `yaml:"reasons"`
	// ReasonsInclude must all be among them; ReasonsExclude none.
	ReasonsInclude []string `yaml:"reasons_include"`
	ReasonsExclude []string `yaml:"reasons_exclude"`
	// Features are exact feature values: {"velocity.ip_failures_10m": 3}.
	Features map[string]any `yaml:"features"`
}

// Load reads a scenario file strictly.
func Load(path string) (*Scenario, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	var s Scenario
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	if s.Start.IsZero() {
		s.Start = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	}
	if len(s.Steps) == 0 {
		return nil, fmt.Errorf("scenario %s: no steps", path)
	}
	// A misspelt decision would fail every check with a confusing diff;
	// say so once, at load.
	var errs []error
	for i, st := range s.Steps {
		for _, x := range []*Expect{st.Expect, st.ExpectLast} {
			if x == nil || x.Decision == "" {
				continue
			}
			if _, err := risk.ParseAction(x.Decision); err != nil {
				errs = append(errs, fmt.Errorf("step %d: %w", i+1, err))
			}
		}
		if st.Repeat < 0 || st.After < 0 || st.Every < 0 {
			errs = append(errs, fmt.Errorf("step %d: repeat, after and every must not be negative", i+1))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("scenario %s: %w", path, errors.Join(errs...))
	}
	return &s, nil
}

// Evaluator is what a scenario drives: the engine.
type Evaluator interface {
	Evaluate(ctx context.Context, ev engine.Event) (*engine.Decision, error)
	RecordOutcome(ctx context.Context, id string, o engine.Outcome) (*engine.Pending, error)
}

// Failure is one expectation that did not hold.
type Failure struct {
	Step   int
	Name   string
	Repeat int
	Diff   []string
	// Kind is "expect" or "expect_last"; Repeats is the step's repeat
	// count, Time the virtual time of the event.
	Kind    string
	Repeats int
	Time    time.Time
	// Event is what was evaluated (the password cleared), Decision what
	// the engine decided.
	Event    engine.Event
	Decision *engine.Decision
}

func (f Failure) Error() string {
	return fmt.Sprintf("step %d (%s) repetition %d:\n  %s", f.Step+1, f.Name, f.Repeat, strings.Join(f.Diff, "\n  "))
}

// Check is one expectation of one step (expect or expect_last) over all
// the repetitions it applies to: the unit a test report lists.
type Check struct {
	Step int
	Name string
	Kind string
	// Checked is how many decisions the expectation was held against.
	Checked  int
	Failures []Failure
}

// Observation is one decision of a replay, for callers that count more
// than expectations (rule coverage).
type Observation struct {
	Step, Repeat int
	Event        engine.Event
	Decision     *engine.Decision
}

// Report is the outcome of a replay.
type Report struct {
	Checks []Check
	// Evaluations is how many events were evaluated.
	Evaluations int
}

// Failures returns every failed expectation, in replay order.
func (r *Report) Failures() []Failure {
	var out []Failure
	for _, c := range r.Checks {
		out = append(out, c.Failures...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Step != out[j].Step {
			return out[i].Step < out[j].Step
		}
		return out[i].Repeat < out[j].Repeat
	})
	return out
}

// Run replays the scenario; the engine must use clock. It returns every
// expectation that failed, and an error when the engine itself failed.
func Run(ctx context.Context, s *Scenario, e Evaluator, clock *clock.Manual) ([]Failure, error) {
	rep, err := Replay(ctx, s, e, clock, nil)
	return rep.Failures(), err
}

// Replay replays the scenario like Run and reports every expectation,
// passed or failed; observe, when not nil, sees every decision.
func Replay(ctx context.Context, s *Scenario, e Evaluator, clock *clock.Manual, observe func(Observation)) (*Report, error) {
	rep := &Report{}
	for si, st := range s.Steps {
		clock.Advance(st.After)
		n := max(st.Repeat, 1)
		var checks []*Check
		var kinds []*Expect
		if st.Expect != nil {
			checks = append(checks, &Check{Step: si, Name: st.Name, Kind: "expect"})
			kinds = append(kinds, st.Expect)
		}
		if st.ExpectLast != nil {
			checks = append(checks, &Check{Step: si, Name: st.Name, Kind: "expect_last"})
			kinds = append(kinds, st.ExpectLast)
		}
		flush := func() {
			for _, c := range checks {
				rep.Checks = append(rep.Checks, *c)
			}
		}
		for i := 1; i <= n; i++ {
			if i > 1 {
				clock.Advance(st.Every)
			}
			ev, err := st.Event.build(i)
			if err != nil {
				flush()
				return rep, fmt.Errorf("step %d: %w", si+1, err)
			}
			at := clock.Now()
			d, err := e.Evaluate(ctx, ev)
			if err != nil {
				flush()
				return rep, fmt.Errorf("step %d repetition %d: evaluate: %w", si+1, i, err)
			}
			rep.Evaluations++
			if observe != nil {
				observe(Observation{Step: si, Repeat: i, Event: ev, Decision: d})
			}
			for k, c := range checks {
				if c.Kind == "expect_last" && i != n {
					continue
				}
				c.Checked++
				if diff := kinds[k].check(d); len(diff) > 0 {
					shown := ev
					shown.Password = ""
					c.Failures = append(c.Failures, Failure{Step: si, Name: st.Name, Repeat: i, Diff: diff,
						Kind: c.Kind, Repeats: n, Time: at, Event: shown, Decision: d})
				}
			}
			if st.Outcome != "" {
				if _, err := e.RecordOutcome(ctx, d.EvaluationID, engine.Outcome(st.Outcome)); err != nil {
					flush()
					return rep, fmt.Errorf("step %d repetition %d: outcome: %w", si+1, i, err)
				}
			}
		}
		flush()
	}
	return rep, nil
}

func (es EventSpec) build(i int) (engine.Event, error) {
	sub := func(s string) string { return strings.ReplaceAll(s, "{i}", strconv.Itoa(i)) }
	ev := engine.Event{Kind: es.Kind, UserID: sub(es.UserID), Identifier: sub(es.Identifier),
		UserAgent: sub(es.UserAgent), Password: es.Password, Attributes: es.Attributes}
	if ev.Kind == "" {
		ev.Kind = engine.KindLogin
	}
	if es.IP != "" {
		ip, err := netip.ParseAddr(sub(es.IP))
		if err != nil {
			return ev, fmt.Errorf("event ip: %w", err)
		}
		ev.IP = ip
	}
	if es.Device != nil {
		d := *es.Device
		d.CookieID = sub(d.CookieID)
		d.CanvasHash = sub(d.CanvasHash)
		ev.Device = &d
	}
	return ev, nil
}

func (x *Expect) check(d *engine.Decision) []string {
	var diff []string
	got := ruleIDs(d)
	if x.Decision != "" && x.Decision != d.Action.String() {
		diff = append(diff, fmt.Sprintf("decision: want %s, got %s (score %g, reasons %v)", x.Decision, d.Action, d.Score, got))
	}
	if x.Reasons != nil {
		want := slices.Clone(*x.Reasons)
		sort.Strings(want)
		g := slices.Clone(got)
		sort.Strings(g)
		if !slices.Equal(want, g) {
			var missing, unexpected []string
			for _, id := range want {
				if !slices.Contains(g, id) {
					missing = append(missing, id)
				}
			}
			for _, id := range g {
				if !slices.Contains(want, id) {
					unexpected = append(unexpected, id)
				}
			}
			diff = append(diff, fmt.Sprintf("reasons: want %v, got %v (missing %v, unexpected %v)", want, g, missing, unexpected))
		}
	}
	for _, id := range x.ReasonsInclude {
		if !slices.Contains(got, id) {
			diff = append(diff, fmt.Sprintf("reasons: missing %s (got %v)", id, got))
		}
	}
	for _, id := range x.ReasonsExclude {
		if slices.Contains(got, id) {
			diff = append(diff, fmt.Sprintf("reasons: unexpected %s (got %v)", id, got))
		}
	}
	keys := make([]string, 0, len(x.Features))
	for k := range x.Features {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, path := range keys {
		gotV, err := featureValue(d, path)
		if err != nil {
			diff = append(diff, err.Error())
			continue
		}
		if gotV == nil && isZero(x.Features[path]) {
			continue // omitted from JSON because it is zero
		}
		if fmt.Sprint(gotV) != fmt.Sprint(x.Features[path]) {
			diff = append(diff, fmt.Sprintf("%s: want %v, got %v", path, x.Features[path], gotV))
		}
	}
	return diff
}

func ruleIDs(d *engine.Decision) []string {
	out := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		out[i] = r.Rule
	}
	return out
}

// featureValue reads one feature of a decision by its rule path.
func featureValue(d *engine.Decision, path string) (any, error) {
	ns, name, ok := strings.Cut(path, ".")
	if !ok {
		return nil, fmt.Errorf("feature %q: want namespace.field", path)
	}
	if ns == "velocity" {
		if name == "available" {
			return d.Features.Velocity.Available, nil
		}
		for i, n := range d.Features.Velocity.Names() {
			if n == name {
				return d.Features.Velocity.Values[i], nil
			}
		}
		return nil, fmt.Errorf("feature %q: unknown counter", path)
	}
	// Round-trip through the JSON names, which equal the rule names.
	m, err := asMap(d.Features)
	if err != nil {
		return nil, err
	}
	nsm, ok := m[ns].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("feature %q: unknown namespace", path)
	}
	return nsm[name], nil
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case int:
		return x == 0
	case float64:
		return x == 0
	case string:
		return x == ""
	}
	return false
}
