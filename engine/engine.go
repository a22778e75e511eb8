package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
)

// Config tunes the engine. The zero value means the defaults.
type Config struct {
	// Deadline bounds a whole evaluation's wait for signals (default 50ms).
	Deadline time.Duration `yaml:"deadline"`
	// StateBudget bounds the velocity/profile read (default: Deadline).
	StateBudget time.Duration `yaml:"state_budget"`
	// SignalBudgets bound individual signals by name (default: Deadline).
	SignalBudgets map[string]time.Duration `yaml:"signal_budgets"`
	// UnavailableFloor is the least decision while any configured signal
	// is unavailable (default step_up: never passwordless on partial data).
	UnavailableFloor *risk.Action `yaml:"unavailable_floor"`
	// DeviceUsersCounter names the distinct counter that feeds device.users
	// (default device_users_30d; empty string in the file keeps the default).
	DeviceUsersCounter string `yaml:"device_users_counter"`
}

func (c *Config) defaults() {
	if c.Deadline <= 0 {
		c.Deadline = 50 * time.Millisecond
	}
	if c.StateBudget <= 0 || c.StateBudget > c.Deadline {
		c.StateBudget = c.Deadline
	}
	if c.UnavailableFloor == nil {
		f := risk.StepUp
		c.UnavailableFloor = &f
	}
	if c.DeviceUsersCounter == "" {
		c.DeviceUsersCounter = "device_users_30d"
	}
}

// Deps are the engine's collaborators.
type Deps struct {
	Clock   clock.Clock
	Rules   *rules.Source
	State   StateStore
	Devices DeviceIdentifier
	// Counters is the catalogue State was built with; the rules' schema
	// must have been built from the same names.
	Counters []CounterSpec
	Signals  []Signal
	Sink     DecisionSink
	Metrics  *Metrics
	Logger   *slog.Logger
	// Familiarity is the familiarity model behind the familiarity rule
	// namespace; nil leaves the namespace unavailable (and floors
	// nothing). The state store must update histories with the same model
	// (ProfileLimits.Familiarity).
	Familiarity *familiarity.Model
	// FamiliarityGlobal holds the global value frequencies the model
	// scores against and successful sign-ins feed; nil with a model means
	// a fresh in-process familiarity.Global of the default size. It must
	// be nil when State keeps the counts (FamiliarityCountsKeeper).
	FamiliarityGlobal FamiliarityGlobal
	// UserAgentLabels labels user agents for the familiarity model
	// (required with Familiarity): the device identifier's cache
	// (ualabel.Cache.ReleaseLabels), so that an evaluation parses its
	// user agent once.
	UserAgentLabels familiarity.LabelFunc
}

// DecisionSink receives every decision after it was made, off the
// request's critical path (engine/alert implements it with a bounded
// queue); Publish must not block.
type DecisionSink interface {
	Publish(d *Decision)
}

// Engine evaluates events. It is safe for concurrent use.
type Engine struct {
	cfg         Config
	clock       clock.Clock
	rules       *rules.Source
	state       StateStore
	stateInline bool
	devices     DeviceIdentifier
	counters    []CounterSpec
	deviceUsers int // index of DeviceUsersCounter, -1 when absent
	inline      []Signal
	async       []Signal
	signals     []Signal // inline then async: the order of the results slice
	sink        DecisionSink
	m           *Metrics
	series      map[string]signalSeries // by signal name, when m is set
	log         *slog.Logger
	fam         *famScorer // nil without a familiarity model
}

// New builds an engine.
func New(cfg Config, d Deps) (*Engine, error) {
	cfg.defaults()
	if d.Rules == nil || d.State == nil || d.Devices == nil {
		return nil, errors.New("engine: Rules, State and Devices are required")
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if err := ValidateCounters(d.Counters); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	schemaNames := d.Rules.Current().Schema().Counters()
	if strings.Join(schemaNames, ",") != strings.Join(CounterNames(d.Counters), ",") {
		return nil, errors.New("engine: the rule schema was built for a different counter catalogue")
	}
	e := &Engine{cfg: cfg, clock: d.Clock, rules: d.Rules, state: d.State, devices: d.Devices,
		counters: d.Counters, sink: d.Sink, m: d.Metrics, log: d.Logger, deviceUsers: -1}
	if in, ok := d.State.(interface{ Inline() bool }); ok {
		e.stateInline = in.Inline()
	}
	for i, c := range d.Counters {
		if c.Name == cfg.DeviceUsersCounter {
			e.deviceUsers = i
		}
	}
	seen := map[string]bool{"velocity": true, "user": true, "device": true}
	for _, s := range d.Signals {
		if seen[s.Name()] {
			return nil, fmt.Errorf("engine: signal name %q used twice", s.Name())
		}
		seen[s.Name()] = true
		if s.Inline() {
			e.inline = append(e.inline, s)
		} else {
			e.async = append(e.async, s)
		}
	}
	e.signals = append(append([]Signal(nil), e.inline...), e.async...)
	if d.Familiarity != nil {
		fs, err := newFamScorer(d.Familiarity, d.FamiliarityGlobal, d.UserAgentLabels, d.State)
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		e.fam = fs
	}
	if e.m != nil {
		e.m.setRuleSet(d.Rules.Current())
		e.series = map[string]signalSeries{"velocity": e.m.signalSeries("velocity")}
		for _, s := range d.Signals {
			e.series[s.Name()] = e.m.signalSeries(s.Name())
		}
	}
	return e, nil
}

// Rules returns the rule source, for the admin API and reload hooks.
func (e *Engine) Rules() *rules.Source { return e.rules }

// Evaluate decides about one event. It fails only for an invalid event or
// a cancelled context; failing signals make their features unavailable
// and the configured floor applies.
func (e *Engine) Evaluate(ctx context.Context, ev Event) (*Decision, error) {
	start := e.clock.Now()
	ev.IP = ev.IP.Unmap()
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	if ev.Time.IsZero() {
		ev.Time = start
	}
	at := ev.Time
	rs := e.rules.Current()
	f := rs.Schema().NewFeatures()
	// The decision, the pending evaluation, the load request and room for
	// the signal statuses in one allocation instead of four: they live as
	// long as the decision at most (stores copy what they keep).
	a := new(evaluation)
	d := &a.d
	*d = Decision{
		EvaluationID:   newEvaluationID(start),
		Features:       f,
		Signals:        a.signals[:0],
		RuleSetVersion: rs.Version,
		Time:           at,
	}

	dev := e.devices.Identify(ev.Device, ev.UserAgent)
	keys := Keys{User: UserKey(ev.UserID, ev.Identifier), Device: dev.ID}
	if ev.IP.IsValid() {
		keys.IP = ev.IP.String()
		keys.Subnet = Subnet(ev.IP)
	}
	d.Keys = keys
	e.eventFeatures(f, &ev, dev, keys)

	// Inline signals first: they are cheap and the pending evaluation
	// wants the client's place.
	var room [8]Result
	results := room[:0]
	if len(e.signals) > len(room) {
		results = make([]Result, len(e.signals))
	}
	results = results[:len(e.signals)]
	var place Place
	place.IP = keys.IP
	// One clock read per inline signal: each one's end is the next one's
	// start (time.Now costs about 75 ns on a VM, nine reads were 5% of an
	// evaluation).
	t0 := e.clock.Now()
	for i, s := range e.inline {
		res, err := s.Collect(ctx, &ev)
		t1 := e.clock.Now()
		e.finishSignal(d, s.Name(), err, t1.Sub(t0))
		t0 = t1
		if err == nil {
			results[i] = res
			if p, ok := res.(Placer); ok {
				place = p.Place()
			}
		}
	}
	pending := &a.pending
	*pending = Pending{EvaluationID: d.EvaluationID, Kind: ev.Kind, Keys: keys, At: at, Place: place, RuleSetVersion: rs.Version}
	if e.fam != nil && keys.User != "" {
		// Extracted before Load so that the pending evaluation carries
		// the values a successful outcome will observe.
		pending.Familiarity = e.fam.extract(&ev, keys, place)
	}
	req := &a.req
	*req = LoadRequest{Kind: ev.Kind, Keys: keys, At: at, Pending: pending}

	// I/O-bound work concurrently, each under its budget, all under the
	// deadline; whatever is late is dropped. Fully in-process setups need
	// no deadline (and its timer) at all.
	deadline := ctx
	if len(e.async) > 0 || !e.stateInline {
		var cancel context.CancelFunc
		deadline, cancel = context.WithTimeout(ctx, e.cfg.Deadline)
		defer cancel()
	}
	var sigCh chan signalOut
	if len(e.async) > 0 {
		sigCh = make(chan signalOut, len(e.async))
		for i, s := range e.async {
			go e.runSignal(deadline, i, s, &ev, sigCh)
		}
	}
	var st stateOut
	if e.stateInline {
		t0 := e.clock.Now()
		st.snap, st.err = e.state.Load(ctx, req)
		st.dur = e.clock.Now().Sub(t0)
		st.err = e.checkSnapshot(st.snap, st.err)
	} else {
		stCh := make(chan stateOut, 1)
		go func() { stCh <- e.loadState(deadline, req) }()
		select {
		case st = <-stCh:
		case <-deadline.Done():
			st = stateOut{err: context.DeadlineExceeded, dur: e.cfg.Deadline}
		}
	}
	for range len(e.async) {
		select {
		case o := <-sigCh:
			e.finishSignal(d, e.async[o.idx].Name(), o.err, o.dur)
			if o.err == nil {
				results[len(e.inline)+o.idx] = o.res
			}
		case <-deadline.Done():
		}
	}
	for _, s := range e.async {
		if _, done := d.Signals.Get(s.Name()); !done {
			e.finishSignal(d, s.Name(), context.DeadlineExceeded, e.cfg.Deadline)
		}
	}
	unavailable := false
	for i, s := range e.signals {
		if results[i] != nil {
			continue
		}
		unavailable = true
		if u, ok := s.(Unavailabler); ok {
			u.MarkUnavailable(f)
		}
	}

	var profile Profile
	// A value, not a pointer: the result (about 800 bytes) stays on the
	// stack.
	var famRes familiarity.Result
	scored := false
	e.finishSignal(d, "velocity", st.err, st.dur)
	if st.err == nil {
		profile = st.snap.Profile
		e.stateFeatures(f, st.snap, keys, at)
		if pending.Familiarity != nil {
			// Inline, after the load: the history came with the profile.
			if scored = e.familiarityFeatures(f, st.snap, pending.Familiarity, at, &famRes); !scored {
				unavailable = true
			}
		}
	} else {
		unavailable = true
	}
	for _, r := range results {
		if r != nil {
			r.Apply(f, &profile, at)
		}
	}

	res := rs.Evaluate(f, at)
	// The candidate runs on the same features: no second signal run. It
	// must have been compiled against the same schema (rules.Source
	// guarantees it), or its programs would read the wrong fields.
	var cres *rules.Result
	if cs := e.rules.Candidate(); cs != nil && cs.Schema() == rs.Schema() {
		r := cs.Evaluate(f, at)
		cres = &r
		d.Candidate = &CandidateDecision{Version: cs.Version, Action: r.Action, Score: r.Score, Reasons: reasonsOf(r.Matches)}
	}
	d.Score = res.Score
	d.Action = res.Action
	d.Reasons = reasonsOf(res.Matches)
	d.Shadow = reasonsOf(res.Shadow)
	if scored {
		attachFamiliarity(&famRes, d)
	}
	d.ShadowAction = res.ShadowAction
	for _, m := range res.Matches {
		d.Alert = max(d.Alert, m.Rule.Alert)
	}
	if unavailable && d.Action < *e.cfg.UnavailableFloor {
		d.Action = *e.cfg.UnavailableFloor
		d.ShadowAction = max(d.ShadowAction, d.Action)
		d.Floored = true
	}
	if c := d.Candidate; unavailable && c != nil && c.Action < *e.cfg.UnavailableFloor {
		c.Action = *e.cfg.UnavailableFloor
		c.Floored = true
	}
	if st.err == nil {
		// The store is done with pending (Load returned: st.err would be
		// set after a timeout, when it might still be reading it), so
		// it can be filled in place.
		pending.Rules, pending.ShadowRules = rules.MatchIDs(res.Matches), rules.MatchIDs(res.Shadow)
		if cres != nil {
			pending.CandidateVersion, pending.CandidateRules = d.Candidate.Version, rules.MatchIDs(cres.Matches)
		}
		if pending.HasRules() {
			e.annotate(ctx, pending)
		}
	}
	// The event without the password. Late signal goroutines may still be
	// reading ev, so with any asynchronous signal it is a copy; without,
	// nothing else holds ev and it is cleared in place.
	if len(e.async) == 0 {
		ev.Password = ""
		d.Event = &ev
	} else {
		pub := ev
		pub.Password = ""
		d.Event = &pub
	}
	d.Latency = e.clock.Now().Sub(start)
	if e.m != nil {
		e.m.observe(d, &res, cres)
	}
	for _, re := range res.Errors {
		e.log.Warn("rule failed at evaluation", "rule", re.Rule.ID, "ruleset", rs.Version, "err", re.Err)
	}
	if cres != nil {
		for _, re := range cres.Errors {
			e.log.Warn("candidate rule failed at evaluation", "rule", re.Rule.ID, "candidate", d.Candidate.Version, "err", re.Err)
		}
	}
	if e.sink != nil {
		e.sink.Publish(d)
	}
	return d, nil
}

// Ready reports whether the engine's backends answer.
func (e *Engine) Ready(ctx context.Context) error {
	if err := e.state.Ping(ctx); err != nil {
		return fmt.Errorf("state store: %w", err)
	}
	return nil
}
