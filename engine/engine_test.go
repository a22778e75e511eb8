package engine_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/engine/scenario"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/device/ualabel"
	"github.com/riskauth/riskauth/signals/geo"
	"github.com/riskauth/riskauth/signals/velocity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

type fixture struct {
	engine  *engine.Engine
	clock   *clock.Manual
	reg     *prometheus.Registry
	metrics *engine.Metrics
}

type options struct {
	rulesFile string
	state     engine.StateStore
	signals   []engine.Signal
	cfg       engine.Config
	sink      engine.DecisionSink
	// famGlobal replaces the engine's in-process global familiarity
	// counts; nil keeps them.
	famGlobal engine.FamiliarityGlobal
}

// newEngine builds an engine on the embedded backends: in-memory velocity,
// in-memory profiles, the real device identifier, the default familiarity
// model, on a virtual clock.
func newEngine(t testing.TB, o options) *fixture {
	t.Helper()
	counters := engine.DefaultCounters()
	schema, err := rules.NewSchema(engine.CounterNames(counters))
	require.NoError(t, err)
	src, err := rules.NewSource(rules.SourceConfig{Path: o.rulesFile, Schema: schema})
	require.NoError(t, err)
	state := o.state
	if state == nil {
		mem, err := velocity.NewMemory(velocity.Config{Counters: counters}, velocity.NewMemProfiles(0), nil)
		require.NoError(t, err)
		t.Cleanup(func() { mem.Close() })
		state = mem
	}
	uaLabels := ualabel.NewCache(0)
	devices, err := device.New(device.Config{Key: []byte("0123456789abcdef0123456789abcdef"), Labels: uaLabels})
	require.NoError(t, err)
	clock := clock.NewManual(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	m := engine.NewMetrics(reg)
	// The state store fills in the same default model for its profiles.
	fam, err := familiarity.New(familiarity.Config{})
	require.NoError(t, err)
	e, err := engine.New(o.cfg, engine.Deps{Clock: clock, Rules: src, State: state, Devices: devices,
		Counters: counters, Signals: o.signals, Metrics: m, Sink: o.sink, Familiarity: fam, FamiliarityGlobal: o.famGlobal, UserAgentLabels: uaLabels.ReleaseLabels})
	require.NoError(t, err)
	return &fixture{engine: e, clock: clock, reg: reg, metrics: m}
}

// TestScenarios replays every testdata/scenarios/<case>/scenario.yaml on a
// virtual clock against the default rules (or the case's rules.yaml).
func TestScenarios(t *testing.T) {
	dirs, err := filepath.Glob("../testdata/scenarios/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			s, err := scenario.Load(filepath.Join(dir, "scenario.yaml"))
			require.NoError(t, err)
			var o options
			for _, name := range s.Signals {
				switch name {
				case "geo":
					g, err := geo.Open(geo.Config{}, nil, nil, nil) // the bundled fixture
					require.NoError(t, err)
					t.Cleanup(func() { g.Close() })
					o.signals = append(o.signals, g)
				default:
					t.Fatalf("scenario needs unknown signal %q", name)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "rules.yaml")); err == nil {
				o.rulesFile = filepath.Join(dir, "rules.yaml")
			}
			f := newEngine(t, o)
			f.clock.Advance(s.Start.Sub(f.clock.Now()))
			fails, err := scenario.Run(context.Background(), s, f.engine, f.clock)
			require.NoError(t, err)
			for _, fl := range fails {
				t.Error(fl)
			}
		})
	}
}

func TestEvaluateDecision(t *testing.T) {
	f := newEngine(t, options{})
	ctx := context.Background()
	d, err := f.engine.Evaluate(ctx, engine.Event{Kind: engine.KindLogin, UserID: "u1",
		IP: netip.MustParseAddr("::ffff:192.0.2.1"), UserAgent: "curl/8.5.0", Password: "hunter2"})
	require.NoError(t, err)
	assert.Equal(t, risk.StepUp, d.Action)
	assert.Equal(t, float64(40), d.Score)
	require.Len(t, d.Reasons, 1)
	assert.Equal(t, "automation-client", d.Reasons[0].Rule)
	assert.Equal(t, []risk.Evidence{{Field: "event.empty_user_agent", Value: false}, {Field: "event.headless", Value: true}}, d.Reasons[0].Evidence)
	assert.NotEmpty(t, d.EvaluationID)
	assert.NotEmpty(t, d.RuleSetVersion)
	assert.Equal(t, "192.0.2.1", d.Features.Event.IP, "IPv4-mapped addresses are unmapped")
	assert.Equal(t, "192.0.2.1", d.Keys.IP)
	assert.Equal(t, "192.0.2.0/24", d.Keys.Subnet)
	vel, ok := d.Signals.Get("velocity")
	assert.True(t, ok && vel.Available)
	assert.Empty(t, d.Event.Password, "the password never leaves the evaluation")
	assert.Equal(t, f.clock.Now(), d.Time)
	assert.Equal(t, 1.0, metricValue(t, f.reg, "riskauth_decisions_total", "step_up"))
}

func TestValidation(t *testing.T) {
	f := newEngine(t, options{})
	long := string(make([]byte, 300))
	_, err := f.engine.Evaluate(context.Background(), engine.Event{Kind: "Bad Kind", UserID: long})
	var ve *engine.ValidationError
	require.ErrorAs(t, err, &ve)
	var fields []string
	for _, fe := range ve.Fields {
		fields = append(fields, fe.Field)
	}
	assert.Equal(t, []string{"event", "user_id"}, fields)
}

func TestOutcomes(t *testing.T) {
	f := newEngine(t, options{})
	ctx := context.Background()
	ev := engine.Event{Kind: engine.KindLogin, UserID: "dave", IP: netip.MustParseAddr("192.0.2.44"), UserAgent: chrome,
		Device: &engine.DeviceDescriptor{CookieID: "dave-pc-8f3a9c"}}
	d, err := f.engine.Evaluate(ctx, ev)
	require.NoError(t, err)
	_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeSuccess)
	require.NoError(t, err)
	_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeSuccess)
	require.ErrorIs(t, err, engine.ErrOutcomeRecorded)
	_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, engine.OutcomeFraud)
	require.NoError(t, err, "labels may follow a flow outcome")
	_, err = f.engine.RecordOutcome(ctx, "not-an-id", engine.OutcomeSuccess)
	require.ErrorIs(t, err, engine.ErrUnknownEvaluation)
	_, err = f.engine.RecordOutcome(ctx, "0193f3f0-0000-7000-8000-000000000000", engine.OutcomeSuccess)
	require.ErrorIs(t, err, engine.ErrUnknownEvaluation)
	_, err = f.engine.RecordOutcome(ctx, d.EvaluationID, "maybe")
	var ve *engine.ValidationError
	require.ErrorAs(t, err, &ve)

	f.clock.Advance(time.Hour)
	d2, err := f.engine.Evaluate(ctx, ev)
	require.NoError(t, err)
	assert.Equal(t, 1, d2.Features.User.Logins)
	assert.True(t, d2.Features.Device.Known)
	assert.True(t, d2.Features.User.SameIPAsLast, "%+v", d2.Features.User)
	assert.InDelta(t, 1.0/24, d2.Features.User.DaysSinceLogin, 1e-9)
}

// slowSignal answers only when its context ends: it stands for a remote
// service that hangs.
type slowSignal struct{ calls atomic.Int32 }

func (s *slowSignal) Name() string { return "slow" }
func (s *slowSignal) Inline() bool { return false }
func (s *slowSignal) Collect(ctx context.Context, _ *engine.Event) (engine.Result, error) {
	s.calls.Add(1)
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestUnavailableSignalsFloor(t *testing.T) {
	ctx := context.Background()
	quiet := engine.Event{Kind: engine.KindLogin, UserID: "erin", IP: netip.MustParseAddr("192.0.2.9"), UserAgent: chrome,
		Device: &engine.DeviceDescriptor{CookieID: "erin-pc-77ab1e"}}

	t.Run("a late signal is dropped and the floor applies", func(t *testing.T) {
		slow := &slowSignal{}
		f := newEngine(t, options{signals: []engine.Signal{slow}, cfg: engine.Config{Deadline: 20 * time.Millisecond}})
		d, err := f.engine.Evaluate(ctx, quiet)
		require.NoError(t, err)
		assert.Equal(t, risk.StepUp, d.Action)
		assert.True(t, d.Floored)
		st, _ := d.Signals.Get("slow")
		assert.Equal(t, engine.SignalStatus{Name: "slow", Available: false, Millis: st.Millis, Error: "timeout"}, st)
		// The signal blocks until its context ends, so it is late whatever
		// the deadline; its goroutine may start only after Evaluate
		// returned on a loaded machine, so its call is waited for.
		testenv.Eventually(t, "the slow signal's call", func() bool { return slow.calls.Load() == 1 })
	})

	t.Run("the floor is configurable", func(t *testing.T) {
		floor := risk.Passwordless
		f := newEngine(t, options{signals: []engine.Signal{&slowSignal{}},
			cfg: engine.Config{Deadline: 10 * time.Millisecond, UnavailableFloor: &floor}})
		d, err := f.engine.Evaluate(ctx, quiet)
		require.NoError(t, err)
		assert.Equal(t, risk.Passwordless, d.Action)
		assert.False(t, d.Floored)
	})

	t.Run("an unreachable Redis makes velocity unavailable", func(t *testing.T) {
		// A port nobody listens on: connection refused, a real failure.
		client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
		defer client.Close()
		st, err := velocity.NewRedis(client, velocity.Config{Counters: engine.DefaultCounters()}, nil)
		require.NoError(t, err)
		defer st.Close()
		f := newEngine(t, options{state: st})
		d, err := f.engine.Evaluate(ctx, quiet)
		require.NoError(t, err)
		assert.Equal(t, risk.StepUp, d.Action)
		assert.True(t, d.Floored)
		assert.False(t, d.Features.Velocity.Available)
		assert.False(t, d.Features.User.Available)
		vel, _ := d.Signals.Get("velocity")
		assert.NotEmpty(t, vel.Error)
		require.Error(t, f.engine.Ready(ctx))
	})
}

func TestRuleReloadChangesDecisions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	write := func(score int) {
		src := []byte("version: 1\nthresholds: {step_up: 40, block: 80}\nrules:\n  - id: headless\n    description: automation\n    when: event.headless\n    score: " +
			itoa(score) + "\n")
		require.NoError(t, os.WriteFile(path, src, 0o644))
	}
	write(10)
	f := newEngine(t, options{rulesFile: path})
	ev := engine.Event{Kind: engine.KindLogin, UserAgent: "curl/8"}
	d, err := f.engine.Evaluate(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, risk.Passwordless, d.Action)
	v1 := d.RuleSetVersion

	write(90)
	_, err = f.engine.Rules().Reload()
	require.NoError(t, err)
	d, err = f.engine.Evaluate(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, risk.Block, d.Action)
	assert.NotEqual(t, v1, d.RuleSetVersion)

	require.NoError(t, os.WriteFile(path, []byte("version: 1\nrules: {"), 0o644))
	_, err = f.engine.Rules().Reload()
	require.True(t, errors.Is(err, rules.ErrInvalid))
	d, err = f.engine.Evaluate(context.Background(), ev)
	require.NoError(t, err)
	assert.Equal(t, risk.Block, d.Action, "the valid set stays active")
}

func TestDefaultCounters(t *testing.T) {
	cs := engine.DefaultCounters()
	require.NotEmpty(t, cs)
	require.NoError(t, engine.ValidateCounters(cs))
	_, err := engine.ParseCounters([]byte("- {name: x, on: sometimes, key: ip, window: 0s, colour: red}"))
	require.Error(t, err)
	_, err = engine.ParseCounters([]byte("- {name: Bad, on: attempt, key: ip, distinct: ip, window: 1m}"))
	require.ErrorContains(t, err, "same as key")
}

// metricValue reads one counter sample from the registry, by one label value.
func metricValue(t testing.TB, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("metric %s{%s} not found", name, label)
	return 0
}

func itoa(n int) string { return strconv.Itoa(n) }
