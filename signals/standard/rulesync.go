package standard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/rules"
)

// ruleSync shares the rule source's active and candidate files through
// Redis, so that a promote, rollback or candidate change made on one
// instance (through the admin API, or read from its disk) is active on
// every instance sharing the Redis within moments, and audited once, by
// the instance that made it.
//
// The shared state is one hash (<prefix>{rules}:state: seq, active,
// candidate, has_candidate, at), written with its sequence number by one
// script that also publishes the number on <prefix>rules. Each instance
// subscribes to the channel and, as the fallback for a lost message or a
// broken subscription, reads the hash every poll interval; a state with a
// higher sequence than the last it saw is applied (rules.Source.Apply:
// written to the rule file, activated, not audited). Changes made at once
// on two instances: the later write to Redis wins everywhere.
//
// Why Redis and not PostgreSQL LISTEN/NOTIFY: every multi-instance
// deployment has Redis (the velocity state must be shared), the rule
// engine does not otherwise depend on the sign-in store (an embedding
// service has Redis and no PostgreSQL), and a hash plus a channel need no
// migration.
type ruleSync struct {
	client  redis.UniversalClient
	src     *rules.Source
	state   string // the hash
	channel string
	poll    time.Duration
	clock   clock.Clock
	log     *slog.Logger
	m       *ruleSyncMetrics

	kick chan struct{} // a local change to share

	// Owned by Start, then by run's goroutine.
	settled bool  // start succeeded: this instance agrees with the shared state
	seen    int64 // the highest sequence applied or written
	shared  int64 // the Source's change count last shared or applied over
}

// publishScript writes the state and its next sequence number and
// announces it; KEYS[1] is the hash, ARGV the active file, the candidate
// file, "1" when there is a candidate, the time (unix nanos), the channel
// and "nx" to write only when there is no state yet. It returns the
// sequence written, or 0 when "nx" found one.
var publishScript = redis.NewScript(`
if ARGV[6] == "nx" and redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
local seq = redis.call("HINCRBY", KEYS[1], "seq", 1)
redis.call("HSET", KEYS[1], "active", ARGV[1], "candidate", ARGV[2], "has_candidate", ARGV[3], "at", ARGV[4])
redis.call("PUBLISH", ARGV[5], seq)
return seq
`)

// ruleSyncTimeout bounds one Redis call of the rule sync.
const ruleSyncTimeout = 5 * time.Second

func newRuleSync(client redis.UniversalClient, src *rules.Source, prefix string, poll time.Duration,
	clk clock.Clock, log *slog.Logger, m *ruleSyncMetrics) *ruleSync {
	if poll <= 0 {
		poll = 5 * time.Second
	}
	return &ruleSync{client: client, src: src, state: prefix + "{rules}:state", channel: prefix + "rules",
		poll: poll, clock: clk, log: log, m: m, kick: make(chan struct{}, 1)}
}

// changed is the rule source's audit hook's second half: a local change
// to share. It never blocks (the change is read when it is shared).
func (r *ruleSync) changed() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// sharedState is the hash as read.
type sharedState struct {
	seq    int64
	sh     rules.Shared
	at     time.Time
	exists bool
}

func (r *ruleSync) read(ctx context.Context) (sharedState, error) {
	ctx, cancel := context.WithTimeout(ctx, ruleSyncTimeout)
	defer cancel()
	h, err := r.client.HGetAll(ctx, r.state).Result()
	if err != nil || len(h) == 0 {
		return sharedState{}, err
	}
	st := sharedState{exists: true}
	st.seq, _ = strconv.ParseInt(h["seq"], 10, 64)
	nanos, _ := strconv.ParseInt(h["at"], 10, 64)
	st.at = time.Unix(0, nanos)
	st.sh.Active = []byte(h["active"])
	if h["has_candidate"] == "1" {
		st.sh.Candidate = []byte(h["candidate"])
	}
	if len(st.sh.Active) == 0 {
		return sharedState{}, errors.New("rule sync: shared state without an active rule file")
	}
	return st, nil
}

// publish writes the source's current state; nx writes it only when
// there is no shared state yet.
func (r *ruleSync) publish(ctx context.Context, nx bool) error {
	ctx, cancel := context.WithTimeout(ctx, ruleSyncTimeout)
	defer cancel()
	sh := r.src.Snapshot()
	has, mode := "0", ""
	if sh.Candidate != nil {
		has = "1"
	}
	if nx {
		mode = "nx"
	}
	seq, err := publishScript.Run(ctx, r.client, []string{r.state}, sh.Active, sh.Candidate, has,
		r.clock.Now().UnixNano(), r.channel, mode).Int64()
	if err != nil {
		return err
	}
	if seq > 0 {
		r.seen = max(r.seen, seq)
		r.m.count("published")
	}
	r.shared = sh.Gen
	return nil
}

// start settles this instance with the shared state before it serves:
// with none, its own becomes the shared one; with one, the newer of the
// two wins (the shared state's time against the rule files' modification
// time), so that a new instance joins the rule set promoted before it
// started, and a file replaced while the instance was down is shared.
func (r *ruleSync) start(ctx context.Context) error {
	st, err := r.read(ctx)
	if err != nil {
		return err
	}
	switch local := r.src.Snapshot(); {
	case !st.exists:
		err = r.publish(ctx, true)
	case same(local, st.sh):
		r.seen, r.shared = st.seq, local.Gen
	case r.src.ModTime().After(st.at):
		r.log.Warn("rule files newer than the shared rule sets: sharing them", "modified", r.src.ModTime(), "shared_at", st.at)
		err = r.publish(ctx, false)
	default:
		err = r.apply(st, local.Gen)
	}
	r.settled = err == nil
	return err
}

func same(a, b rules.Shared) bool {
	return bytes.Equal(a.Active, b.Active) && (a.Candidate == nil) == (b.Candidate == nil) && bytes.Equal(a.Candidate, b.Candidate)
}

// apply makes st this instance's rule sets unless a local change came
// after gen, which is then shared instead.
func (r *ruleSync) apply(st sharedState, gen int64) error {
	changed, err := r.src.Apply(st.sh, gen)
	if errors.Is(err, rules.ErrLocalChange) {
		return r.publish(context.Background(), false)
	}
	r.seen = max(r.seen, st.seq)
	if err != nil {
		return err
	}
	r.shared = gen
	if changed {
		r.m.count("applied")
	}
	return nil
}

// sync applies the shared state when it is newer than the last seen.
func (r *ruleSync) sync(ctx context.Context) error {
	st, err := r.read(ctx)
	if err != nil || !st.exists || st.seq <= r.seen {
		return err
	}
	return r.apply(st, r.shared)
}

// subscribe opens the subscription to the channel and waits (within
// ruleSyncTimeout) until Redis confirms it: only a state read after that
// confirmation is sure to be followed by every later change's message.
// Reading first and subscribing after lost the changes published in
// between until the next poll (a rollback made just after an instance
// joined reached it an hour later with a long poll interval). The PubSub
// is returned even with the error: its channel reconnects by itself.
func (r *ruleSync) subscribe(ctx context.Context) (*redis.PubSub, error) {
	ps := r.client.Subscribe(ctx, r.channel)
	cctx, cancel := context.WithTimeout(ctx, ruleSyncTimeout)
	defer cancel()
	if _, err := ps.Receive(cctx); err != nil {
		return ps, fmt.Errorf("rule sync: subscribe to %s: %w", r.channel, err)
	}
	return ps, nil
}

// run shares local changes and follows remote ones until ctx ends; ps is
// the subscription opened before the shared state was first read.
func (r *ruleSync) run(ctx context.Context, ps *redis.PubSub) {
	msgs := ps.Channel()
	subscribe := func() {
		var err error
		ps, err = r.subscribe(ctx)
		msgs = ps.Channel()
		if err == nil && r.settled {
			err = r.sync(ctx) // what was published while unsubscribed
		}
		if err != nil && ctx.Err() == nil {
			r.m.count("error")
		}
	}
	defer func() { _ = ps.Close() }()
	tick := time.NewTicker(r.poll)
	defer tick.Stop()
	var lastWarn time.Time
	report := func(err error) {
		if err == nil {
			return
		}
		r.m.count("error")
		if now := r.clock.Now(); now.Sub(lastWarn) >= time.Minute {
			lastWarn = now
			r.log.Warn("rule sync: shared rule sets not read or written; retrying", "err", err)
		}
	}
	for {
		// A local change is shared before anything is read, so that a
		// remote state never overtakes it unseen.
		select {
		case <-r.kick:
			if r.settled {
				report(r.publish(ctx, false))
			}
			continue
		default:
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			if r.settled {
				report(r.publish(ctx, false))
			}
		case _, ok := <-msgs:
			if !ok { // closed: subscribe again, polling meanwhile
				_ = ps.Close()
				subscribe()
				continue
			}
			if r.settled {
				report(r.sync(ctx))
			}
		case <-tick.C:
			if !r.settled {
				report(r.start(ctx))
				continue
			}
			if r.src.Changes() != r.shared {
				report(r.publish(ctx, false)) // a kick lost to a failed write
				continue
			}
			report(r.sync(ctx))
		}
	}
}

// ruleSyncMetrics count the rule sync's work.
type ruleSyncMetrics struct {
	events *prometheus.CounterVec
}

func newRuleSyncMetrics(reg prometheus.Registerer) *ruleSyncMetrics {
	m := &ruleSyncMetrics{events: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "riskauth_rules_sync_total",
		Help: "Rule set sharing through Redis, by result: published (a change made here was shared), applied (one made elsewhere became active here), error (Redis not read or written).",
	}, []string{"result"})}
	for _, r := range []string{"published", "applied", "error"} {
		m.events.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.events)
	}
	return m
}

func (m *ruleSyncMetrics) count(result string) { m.events.WithLabelValues(result).Inc() }

// ruleChanged is the rule source's audit hook: audit (the caller's
// hook, once, on the instance that made the change), then share the
// change when the rule sets are shared.
func (a *Assembly) ruleChanged(audit func(rules.Change)) func(rules.Change) {
	return func(c rules.Change) {
		if audit != nil {
			audit(c)
		}
		if a.rsync != nil {
			a.rsync.changed()
		}
	}
}

// startRuleSync settles the rule sets with the shared ones before the
// engine serves (a Redis that does not answer is retried every poll
// interval meanwhile, the instance keeping its own rule files), then
// follows and shares changes until ctx ends.
func (a *Assembly) startRuleSync(ctx context.Context) {
	r := a.rsync
	if r == nil {
		return
	}
	ps, err := r.subscribe(ctx)
	if err == nil {
		err = r.start(ctx)
	}
	if err != nil {
		r.m.count("error")
		r.log.Warn("rule sync: shared rule sets not read; keeping the rule files until Redis answers", "err", err)
	}
	a.syncDone = make(chan struct{})
	go func() {
		defer close(a.syncDone)
		r.run(ctx, ps)
	}()
}
