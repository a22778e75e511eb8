package breached

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/stretchr/testify/require"
)

// stubChecker answers from a map, or fails.
type stubChecker struct {
	answers map[string]Result
	err     error
	local   bool
	calls   int
}

func (s *stubChecker) Check(_ context.Context, p string) (Result, error) {
	s.calls++
	if s.err != nil {
		return Result{}, s.err
	}
	return s.answers[p], nil
}

func (s *stubChecker) Local() bool { return s.local }

func collect(t *testing.T, s *Signal, password string) (risk.Features, error) {
	t.Helper()
	var f risk.Features
	res, err := s.Collect(context.Background(), &engine.Event{Kind: engine.KindLogin, Password: password})
	if err != nil {
		s.MarkUnavailable(&f)
		return f, err
	}
	res.Apply(&f, &engine.Profile{}, time.Time{})
	return f, nil
}

func TestSignal(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	s, err := NewSignal(NewEmbedded(EmbeddedOptions{}), SignalConfig{Metrics: m})
	require.NoError(t, err)
	require.Equal(t, "breached", s.Name())
	require.True(t, s.Inline())

	f, err := collect(t, s, "Password")
	require.NoError(t, err)
	require.Equal(t, risk.BreachedFeatures{Available: true, Checked: true, Password: true}, f.Breached)

	f, err = collect(t, s, "a perfectly fine passphrase")
	require.NoError(t, err)
	require.Equal(t, risk.BreachedFeatures{Available: true, Checked: true}, f.Breached)

	f, err = collect(t, s, "")
	require.NoError(t, err)
	require.Equal(t, risk.BreachedFeatures{Available: true}, f.Breached)

	require.Equal(t, 1.0, testutil.ToFloat64(m.checks.WithLabelValues("breached")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.checks.WithLabelValues("clean")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.checks.WithLabelValues("skipped")))
}

func TestSignalFailurePolicy(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	remote := &stubChecker{err: boom}

	open, err := NewSignal(remote, SignalConfig{})
	require.NoError(t, err)
	require.False(t, open.Inline())
	f, err := collect(t, open, "hunter2")
	require.ErrorIs(t, err, boom)
	require.Equal(t, risk.BreachedFeatures{}, f.Breached)

	closed, err := NewSignal(remote, SignalConfig{FailurePolicy: FailClosed})
	require.NoError(t, err)
	f, err = collect(t, closed, "hunter2")
	require.ErrorIs(t, err, boom)
	require.Equal(t, risk.BreachedFeatures{Available: false, Checked: true, Password: true}, f.Breached)

	_, err = NewSignal(remote, SignalConfig{FailurePolicy: "maybe"})
	require.Error(t, err)
	_, err = NewSignal(nil, SignalConfig{})
	require.Error(t, err)
}

func TestMulti(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	embedded := &stubChecker{local: true, answers: map[string]Result{"common": {Breached: true}}}
	table := &stubChecker{local: true, answers: map[string]Result{"common": {Breached: true, Count: 500}, "rare": {Breached: true, Count: 2}}}
	remote := &stubChecker{answers: map[string]Result{"remote-only": {Breached: true, Count: 9}}}
	broken := &stubChecker{err: boom}
	ctx := context.Background()

	m := Multi{embedded, table, remote}
	require.False(t, m.Local())
	require.True(t, Multi{embedded, table}.Local())

	r, err := m.Check(ctx, "common") // the table adds the count; remote not asked
	require.NoError(t, err)
	require.Equal(t, Result{Breached: true, Count: 500}, r)
	require.Zero(t, remote.calls)

	r, err = m.Check(ctx, "remote-only")
	require.NoError(t, err)
	require.Equal(t, Result{Breached: true, Count: 9}, r)

	r, err = m.Check(ctx, "clean")
	require.NoError(t, err)
	require.Equal(t, Result{}, r)

	// A failure only matters when nobody found the password.
	r, err = Multi{embedded, broken}.Check(ctx, "common")
	require.NoError(t, err)
	require.True(t, r.Breached)
	_, err = Multi{embedded, broken}.Check(ctx, "clean")
	require.ErrorIs(t, err, boom)

	// Breached without a count, later remote not asked for one.
	remote.calls = 0
	r, err = Multi{embedded, remote}.Check(ctx, "common")
	require.NoError(t, err)
	require.Equal(t, Result{Breached: true}, r)
	require.Zero(t, remote.calls)
}
