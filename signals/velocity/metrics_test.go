package velocity

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

type testRegistry struct {
	reg     *prometheus.Registry
	metrics *Metrics
}

func newTestRegistry(t testing.TB) *testRegistry {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	require.NoError(t, err)
	return &testRegistry{reg: reg, metrics: m}
}

// value returns the value of the metric with these labels, 0 when absent.
func (r *testRegistry) value(t testing.TB, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := r.reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
					continue metrics
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func TestNewMetricsRegistersOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := NewMetrics(reg)
	require.NoError(t, err)
	_, err = NewMetrics(reg)
	require.Error(t, err, "a second registration on the same registry fails")
	m, err := NewMetrics(nil)
	require.NoError(t, err)
	require.NotNil(t, m)
	var nilMetrics *Metrics
	nilMetrics.backendError(backendMemory, opLoad) // a nil *Metrics records nothing
	nilMetrics.evicted(evictPending)
	nilMetrics.conflict()
}
