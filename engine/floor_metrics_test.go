package engine_test

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/signals/velocity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counterTotal sums a counter's samples in the registry.
func counterTotal(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// brokenSignal fails at once, as a signal whose backend refuses.
type brokenSignal struct{}

func (brokenSignal) Name() string { return "broken" }
func (brokenSignal) Inline() bool { return true }
func (brokenSignal) Collect(context.Context, *engine.Event) (engine.Result, error) {
	return nil, errors.New("backend refused")
}

// stateStub is an out-of-process state store (no Inline method) over a
// memory store whose Load fails, or hangs until its budget ends.
type stateStub struct {
	*velocity.Memory
	fail, hang bool
}

// Inline hides the memory store's: the engine then reads the state on a
// goroutine under its budget, as it does Redis.
func (stateStub) Inline() bool { return false }

func (s stateStub) Load(ctx context.Context, req *engine.LoadRequest) (*engine.Snapshot, error) {
	switch {
	case s.fail:
		return nil, errors.New("connection reset")
	case s.hang:
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Memory.Load(ctx, req)
}

// floorRules decide passwordless unless the event is a registration,
// which they block: the floor shows on logins only.
const floorRules = `version: 1
thresholds: { step_up: 40, block: 80 }
rules:
  - id: no-registrations
    description: registrations are closed
    when: event.kind == "registration"
    action: block
`

// TestFlooredDecisionsMetric: every floored decision is counted once in
// riskauth_unavailable_floor_total and, in
// riskauth_floored_decisions_total, under each signal that was unavailable
// and why; a decision the rules already raised above the floor is not
// floored and counts nowhere. The slow and hanging cases never answer, so
// they time out however fast the machine is.
func TestFlooredDecisionsMetric(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rulesFile := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(rulesFile, []byte(floorRules), 0o600))
	login := engine.Event{Kind: engine.KindLogin, UserID: "ivy", IP: netip.MustParseAddr("192.0.2.9"), UserAgent: chrome}
	registration := login
	registration.Kind = engine.KindRegistration

	memory := func(t *testing.T, profiles velocity.ProfileStore) *velocity.Memory {
		mem, err := velocity.NewMemory(velocity.Config{Counters: engine.DefaultCounters()}, profiles, nil)
		require.NoError(t, err)
		t.Cleanup(func() { mem.Close() })
		return mem
	}
	type cause struct{ signal, reason string }
	for _, tc := range []struct {
		name    string
		opts    func(t *testing.T) options
		ev      engine.Event
		floored bool
		causes  []cause
	}{
		{name: "all available", opts: func(*testing.T) options { return options{} }, ev: login},
		{name: "signal error", opts: func(*testing.T) options { return options{signals: []engine.Signal{brokenSignal{}}} },
			ev: login, floored: true, causes: []cause{{"broken", "error"}}},
		{name: "signal timeout", opts: func(*testing.T) options {
			return options{signals: []engine.Signal{&slowSignal{}}, cfg: engine.Config{Deadline: 20 * time.Millisecond}}
		}, ev: login, floored: true, causes: []cause{{"slow", "timeout"}}},
		{name: "two signals", opts: func(*testing.T) options {
			return options{signals: []engine.Signal{brokenSignal{}, &slowSignal{}}, cfg: engine.Config{Deadline: 20 * time.Millisecond}}
		}, ev: login, floored: true, causes: []cause{{"broken", "error"}, {"slow", "timeout"}}},
		{name: "state read error", opts: func(t *testing.T) options {
			return options{state: stateStub{Memory: memory(t, nil), fail: true}}
		}, ev: login, floored: true, causes: []cause{{"velocity", "error"}}},
		{name: "state read over budget", opts: func(t *testing.T) options {
			return options{state: stateStub{Memory: memory(t, nil), hang: true}, cfg: engine.Config{Deadline: 20 * time.Millisecond}}
		}, ev: login, floored: true, causes: []cause{{"velocity", "timeout"}}},
		{name: "unreadable familiarity history", opts: func(t *testing.T) options {
			profiles := velocity.NewMemProfiles(0)
			require.NoError(t, profiles.Put(ctx, "ivy", engine.Profile{Logins: 3, Familiarity: []byte("not a history")}))
			return options{state: memory(t, profiles)}
		}, ev: login, floored: true, causes: []cause{{"familiarity", "error"}}},
		{name: "blocked anyway", opts: func(*testing.T) options { return options{signals: []engine.Signal{brokenSignal{}}} },
			ev: registration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := tc.opts(t)
			o.rulesFile = rulesFile
			f := newEngine(t, o)
			d, err := f.engine.Evaluate(ctx, tc.ev)
			require.NoError(t, err)
			require.Equal(t, tc.floored, d.Floored)
			if tc.floored {
				assert.Equal(t, risk.StepUp, d.Action)
			}
			want := 0.0
			if tc.floored {
				want = 1
			}
			assert.Equal(t, want, counterTotal(t, f.reg, "riskauth_unavailable_floor_total"), "floored decisions")
			vec := f.metrics.FlooredDecisions()
			assert.Equal(t, len(tc.causes), testutil.CollectAndCount(vec), "series")
			for _, c := range tc.causes {
				assert.Equal(t, 1.0, testutil.ToFloat64(vec.WithLabelValues(c.signal, c.reason)), "%s/%s", c.signal, c.reason)
			}
		})
	}
}
