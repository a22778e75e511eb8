package engine

import (
	"context"
	"errors"
	"time"

	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
)

// evaluation is what Evaluate allocates per event, in one object.
type evaluation struct {
	d       Decision
	pending Pending
	req     LoadRequest
	signals [8]SignalStatus
}

// evalCall is one Evaluate call's working state, handed from phase to
// phase. Unlike evaluation it lives on Evaluate's stack: it holds what the
// decision must not keep alive (the signals' results, the familiarity
// scores, the rule results). It stays there only while no phase hands its
// address, or a field's, to a goroutine, a closure or an interface method,
// and no pointer field points into it (escape analysis does not tell the
// fields apart): either moves all of it to the heap, an allocation per
// evaluation. Hence the results array rather than a slice of it, and
// hasCand rather than a pointer to cres.
type evalCall struct {
	ev    *Event
	start time.Time // when Evaluate was called
	at    time.Time // the event's time
	rs    *rules.RuleSet
	f     *risk.Features
	a     *evaluation
	keys  Keys
	place Place
	// traits are the event's device traits (devicetraits.go).
	traits DeviceTraits
	// room holds the signals' results for up to len(room) signals, more
	// beyond: see results.
	room [8]Result
	more []Result
	st   stateOut
	// unavailable is set when a signal or the state read failed: the
	// decision is raised to the floor.
	unavailable bool
	// famRes is a value, not a pointer: the result (about 800 bytes) stays
	// on the stack. scored reports that it holds a score.
	famRes familiarity.Result
	scored bool
	// famFailed is set when the familiarity score could not be computed
	// (the metrics name it as a cause of the floor).
	famFailed bool
	res       rules.Result
	// cres is the candidate rule set's result when hasCand.
	cres    rules.Result
	hasCand bool
}

// results returns the signals' results, indexed like Engine.signals (n
// is its length): nil for a signal that failed or was late. A method, not
// a field: a slice of room kept in c would point into c.
func (c *evalCall) results(n int) []Result {
	if n > len(c.room) {
		return c.more
	}
	return c.room[:n]
}

type signalOut struct {
	idx int
	res Result
	err error
	dur time.Duration
}

type stateOut struct {
	snap *Snapshot
	err  error
	dur  time.Duration
}

// The phases of Evaluate, in the order it runs them. Each takes the call's
// state by pointer rather than a dozen parameters; none may let it escape
// (see evalCall).

// prepareEvent refuses an invalid event before anything is allocated for
// it, and fills in what the caller may leave out.
func (e *Engine) prepareEvent(c *evalCall, ev *Event) error {
	c.start = e.clock.Now()
	ev.IP = ev.IP.Unmap()
	if err := ev.Validate(); err != nil {
		return err
	}
	if ev.Time.IsZero() {
		ev.Time = c.start
	}
	c.ev, c.at = ev, ev.Time
	return nil
}

// newDecision reads the active rule set once: the features, the pending
// evaluation and the decision all name that version, even when a reload
// lands halfway through the evaluation.
func (e *Engine) newDecision(c *evalCall) {
	c.rs = e.rules.Current()
	c.f = c.rs.Schema().NewFeatures()
	// The decision, the pending evaluation, the load request and room for
	// the signal statuses in one allocation instead of four: they live as
	// long as the decision at most (stores copy what they keep).
	c.a = new(evaluation)
	c.a.d = Decision{
		EvaluationID:   newEvaluationID(c.start),
		Features:       c.f,
		Signals:        c.a.signals[:0],
		RuleSetVersion: c.rs.Version,
		Time:           c.at,
	}
}

// identify derives the device and the counter keys once, for the
// signals, the state store and the rules alike.
func (e *Engine) identify(c *evalCall) {
	dev := e.devices.Identify(c.ev.Device, c.ev.UserAgent)
	c.keys = eventKeys(c.ev, dev.ID)
	c.a.d.Keys = c.keys
	c.traits = traitsOf(c.ev)
	e.eventFeatures(c.f, c.ev, dev, c.keys)
}

// runInline runs the inline signals on the caller's goroutine: they are
// cheap, and the pending evaluation wants the client's place before the
// state is loaded.
func (e *Engine) runInline(ctx context.Context, c *evalCall) {
	if len(e.signals) > len(c.room) {
		c.more = make([]Result, len(e.signals))
	}
	results := c.results(len(e.signals))
	c.place.IP = c.keys.IP
	// One clock read per inline signal: each one's end is the next one's
	// start (time.Now costs about 75 ns on a VM, nine reads were 5% of an
	// evaluation).
	t0 := e.clock.Now()
	for i, s := range e.inline {
		res, err := s.Collect(ctx, c.ev)
		t1 := e.clock.Now()
		e.finishSignal(&c.a.d, s.Name(), err, t1.Sub(t0))
		t0 = t1
		if err == nil {
			results[i] = res
			if p, ok := res.(Placer); ok {
				c.place = p.Place()
			}
		}
	}
}

// newPending prepares what the state store keeps for RecordOutcome; Load
// stores it in the same round trip as the counter reads.
func (e *Engine) newPending(c *evalCall) {
	a := c.a
	// The network is known only now, after the inline signals.
	if k := domainASNKey(c.ev.Attributes, c.place.ASN); k != "" {
		c.keys.DomainASN = k
		a.d.Keys.DomainASN = k
	}
	a.pending = Pending{EvaluationID: a.d.EvaluationID, Kind: c.ev.Kind, Keys: c.keys, At: c.at, Place: c.place, RuleSetVersion: c.rs.Version, Traits: c.traits}
	if e.fam != nil && c.keys.User != "" {
		// Extracted before Load so that the pending evaluation carries
		// the values a successful outcome will observe.
		a.pending.Familiarity = e.fam.extract(c.ev, c.keys, c.place)
	}
	a.req = LoadRequest{Kind: c.ev.Kind, Keys: c.keys, At: c.at, Pending: &a.pending}
}

// deadline bounds the I/O-bound work: asynchronous signals and a remote
// state store run concurrently, each under its budget, all under the
// deadline, and whatever is late is dropped. Fully in-process setups need
// no deadline (and its timer) at all: ctx comes back with a nil cancel.
func (e *Engine) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if len(e.async) > 0 || !e.stateInline {
		return context.WithTimeout(ctx, e.cfg.Deadline)
	}
	return ctx, nil
}

// startAsync starts the asynchronous signals before the state is loaded,
// so that their wait overlaps the store's.
func (e *Engine) startAsync(deadline context.Context, c *evalCall) chan signalOut {
	if len(e.async) == 0 {
		return nil
	}
	sigCh := make(chan signalOut, len(e.async))
	for i, s := range e.async {
		go e.runSignal(deadline, i, s, c.ev, sigCh)
	}
	return sigCh
}

// loadState reads the counters and the profile and records the attempt.
// An in-process store is called directly, under ctx alone; a remote one on
// a goroutine, so that the deadline can drop it.
func (e *Engine) loadState(ctx, deadline context.Context, c *evalCall) {
	req := &c.a.req
	if e.stateInline {
		t0 := e.clock.Now()
		c.st.snap, c.st.err = e.state.Load(ctx, req)
		c.st.dur = e.clock.Now().Sub(t0)
		c.st.err = e.checkSnapshot(c.st.snap, c.st.err)
		return
	}
	stCh := make(chan stateOut, 1)
	go func() { stCh <- e.loadUnderBudget(deadline, req) }()
	select {
	case c.st = <-stCh:
	case <-deadline.Done():
		c.st = stateOut{err: context.DeadlineExceeded, dur: e.cfg.Deadline}
	}
}

// awaitAsync collects the asynchronous signals until the deadline and
// records every one still out as timed out: a late result is dropped,
// never applied.
func (e *Engine) awaitAsync(deadline context.Context, c *evalCall, sigCh <-chan signalOut) {
	d := &c.a.d
	results := c.results(len(e.signals))
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
}

// markUnavailable lets every signal without a result mark its features
// unavailable, which rules can see, and has the floor apply.
func (e *Engine) markUnavailable(c *evalCall) {
	results := c.results(len(e.signals))
	for i, s := range e.signals {
		if results[i] != nil {
			continue
		}
		c.unavailable = true
		if u, ok := s.(Unavailabler); ok {
			u.MarkUnavailable(c.f)
		}
	}
}

// applyState turns the state read into the velocity, user, device and
// familiarity features; a failed read leaves them unavailable and has the
// floor apply.
func (e *Engine) applyState(c *evalCall) {
	e.finishSignal(&c.a.d, "velocity", c.st.err, c.st.dur)
	if c.st.err != nil {
		c.unavailable = true
		return
	}
	e.stateFeatures(c.f, c.st.snap, c.keys, c.traits, c.at)
	if x := c.a.pending.Familiarity; x != nil {
		// Inline, after the load: the history came with the profile.
		if c.scored = e.familiarityFeatures(c.f, c.st.snap, x, c.at, &c.famRes); !c.scored {
			c.unavailable, c.famFailed = true, true
		}
	}
}

// applyResults writes the signals' features once every signal has
// answered or timed out (a late one is dropped, never applied), with the
// user's profile for those that compare the event with the user's history.
func (e *Engine) applyResults(c *evalCall) {
	// Zero when the state read failed (Result.Apply). Apply, an interface
	// method, takes its address: it is on the heap, not in c.
	var profile Profile
	if c.st.err == nil {
		profile = c.st.snap.Profile
	}
	for _, r := range c.results(len(e.signals)) {
		if r != nil {
			r.Apply(c.f, &profile, c.at)
		}
	}
}

// runRules runs the active rule set and, when one is loaded, the
// candidate. The candidate runs on the same features: no second signal
// run. It must have been compiled against the same schema (rules.Source
// guarantees it), or its programs would read the wrong fields.
func (e *Engine) runRules(c *evalCall) {
	c.res = c.rs.Evaluate(c.f, c.at)
	if cs := e.rules.Candidate(); cs != nil && cs.Schema() == c.rs.Schema() {
		c.cres, c.hasCand = cs.Evaluate(c.f, c.at), true
		r := &c.cres
		c.a.d.Candidate = &CandidateDecision{Version: cs.Version, Action: r.Action, Score: r.Score, Reasons: reasonsOf(r.Matches)}
	}
}

// decide turns the active rule set's result into the decision, with the
// familiarity contributions on the reasons that read them.
func (e *Engine) decide(c *evalCall) {
	d := &c.a.d
	d.Score = c.res.Score
	d.Action = c.res.Action
	d.Reasons = reasonsOf(c.res.Matches)
	d.Shadow = reasonsOf(c.res.Shadow)
	if c.scored {
		attachFamiliarity(&c.famRes, d)
	}
	d.ShadowAction = c.res.ShadowAction
	for _, m := range c.res.Matches {
		d.Alert = max(d.Alert, m.Rule.Alert)
	}
}

// floor raises the decision, and the candidate's, to the configured floor
// when something was unavailable: never passwordless on partial data.
func (e *Engine) floor(c *evalCall) {
	d := &c.a.d
	if c.unavailable && d.Action < *e.cfg.UnavailableFloor {
		d.Action = *e.cfg.UnavailableFloor
		d.ShadowAction = max(d.ShadowAction, d.Action)
		d.Floored = true
	}
	if cd := d.Candidate; c.unavailable && cd != nil && cd.Action < *e.cfg.UnavailableFloor {
		cd.Action = *e.cfg.UnavailableFloor
		cd.Floored = true
	}
	e.forgottenFloor(c)
}

// recordMatches attaches the matched rules to the stored pending
// evaluation, so that a later fraud/legit label is attributed to them.
func (e *Engine) recordMatches(ctx context.Context, c *evalCall) {
	if c.st.err != nil {
		return
	}
	// The store is done with pending (Load returned: st.err would be set
	// after a timeout, when it might still be reading it), so it can be
	// filled in place.
	p := &c.a.pending
	p.Rules, p.ShadowRules = rules.MatchIDs(c.res.Matches), rules.MatchIDs(c.res.Shadow)
	if c.hasCand {
		p.CandidateVersion, p.CandidateRules = c.a.d.Candidate.Version, rules.MatchIDs(c.cres.Matches)
	}
	if p.HasRules() {
		e.annotate(ctx, p)
	}
}

// finish takes the latency once every phase that decides is done, and
// gives the decision its event.
func (e *Engine) finish(c *evalCall) {
	d := &c.a.d
	// The event without the password. Late signal goroutines may still be
	// reading ev, so with any asynchronous signal it is a copy; without,
	// nothing else holds ev and it is cleared in place.
	if len(e.async) == 0 {
		c.ev.Password = ""
		d.Event = c.ev
	} else {
		pub := *c.ev
		pub.Password = ""
		d.Event = &pub
	}
	d.Latency = e.clock.Now().Sub(c.start)
}

// report hands the finished decision to metrics, the log and the sink,
// after its latency was taken: their cost is not the evaluation's.
func (e *Engine) report(c *evalCall) {
	d := &c.a.d
	var cres *rules.Result
	if c.hasCand {
		cres = &c.cres
	}
	if e.m != nil {
		e.m.observe(d, &c.res, cres, c.famFailed)
	}
	for _, re := range c.res.Errors {
		e.log.Warn("rule failed at evaluation", "rule", re.Rule.ID, "ruleset", c.rs.Version, "err", re.Err)
	}
	if cres != nil {
		for _, re := range cres.Errors {
			e.log.Warn("candidate rule failed at evaluation", "rule", re.Rule.ID, "candidate", d.Candidate.Version, "err", re.Err)
		}
	}
	if e.sink != nil {
		e.sink.Publish(d)
	}
}

func (e *Engine) runSignal(ctx context.Context, i int, s Signal, ev *Event, out chan<- signalOut) {
	budget := e.cfg.Deadline
	if b, ok := e.cfg.SignalBudgets[s.Name()]; ok && b > 0 && b < budget {
		budget = b
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	t0 := e.clock.Now()
	res, err := s.Collect(ctx, ev)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	out <- signalOut{idx: i, res: res, err: err, dur: e.clock.Now().Sub(t0)}
}

// loadUnderBudget is loadState's goroutine for a store that is not
// in-process. Config.StateBudget may be tighter than the deadline: a slow
// store then gives up early instead of holding the evaluation to it.
func (e *Engine) loadUnderBudget(ctx context.Context, req *LoadRequest) stateOut {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StateBudget)
	defer cancel()
	t0 := e.clock.Now()
	snap, err := e.state.Load(ctx, req)
	return stateOut{snap: snap, err: e.checkSnapshot(snap, err), dur: e.clock.Now().Sub(t0)}
}

func (e *Engine) checkSnapshot(snap *Snapshot, err error) error {
	if err == nil && (snap == nil || len(snap.Counters) != len(e.counters)) {
		err = errors.New("state store returned a malformed snapshot")
	}
	return err
}

func (e *Engine) finishSignal(d *Decision, name string, err error, dur time.Duration) {
	st := SignalStatus{Name: name, Available: err == nil, Millis: float64(dur.Microseconds()) / 1000}
	if err != nil {
		st.Error = "error"
		if errors.Is(err, context.DeadlineExceeded) {
			st.Error = "timeout"
		}
		e.log.Warn("signal unavailable", "signal", name, "err", err)
	}
	d.Signals.set(st)
	if e.m != nil {
		e.series[name].observe(dur, st.Error)
	}
}
