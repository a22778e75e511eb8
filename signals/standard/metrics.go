package standard

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/signals/breached"
	"github.com/riskauth/riskauth/signals/geo"
	"github.com/riskauth/riskauth/signals/velocity"
)

// metrics are the components' metric sets, all nil without a registerer
// (each component then keeps none).
type metrics struct {
	engine   *engine.Metrics
	velocity *velocity.Metrics
	geo      *geo.Metrics
	breached *breached.Metrics
	err      error
}

func newMetrics(reg prometheus.Registerer) metrics {
	if reg == nil {
		return metrics{}
	}
	m := metrics{engine: engine.NewMetrics(reg)}
	m.velocity, m.err = velocity.NewMetrics(reg)
	if m.err != nil {
		return m
	}
	m.geo = geo.NewMetrics(reg)
	m.breached = breached.NewMetrics(reg)
	return m
}
