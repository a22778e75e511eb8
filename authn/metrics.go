package authn

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// Metrics counts flow results; a nil *Metrics records nothing. Labels are
// bounded sets (flow names, error codes, mail kinds), never users or IPs.
type Metrics struct {
	results *prometheus.CounterVec
	mails   *prometheus.CounterVec
	events  *prometheus.CounterVec
}

// NewMetrics registers the package's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "authn", Name: "flow_results_total",
			Help: "Flow steps by flow and result (ok or an error code).",
		}, []string{"flow", "result"}),
		mails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "authn", Name: "mails_total",
			Help: "Mails by kind and result: sent or failed by the mailer, or capped (held back by the per-address cap).",
		}, []string{"kind", "result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "riskauth", Subsystem: "authn", Name: "security_events_total",
			Help: "Security events emitted, by type.",
		}, []string{"type"}),
	}
	reg.MustRegister(m.results, m.mails, m.events)
	return m
}

func (m *Metrics) result(flow string, err error) {
	if m == nil {
		return
	}
	r := "ok"
	if err != nil {
		r = string(CodeOf(err))
	}
	m.results.WithLabelValues(flow, r).Inc()
}

func (m *Metrics) mailSent(kind mail.Kind, err error) {
	if m == nil {
		return
	}
	r := "sent"
	if err != nil {
		r = "failed"
	}
	m.mails.WithLabelValues(string(kind), r).Inc()
}

// mailCapped counts a mail the per-address cap held back.
func (m *Metrics) mailCapped(kind mail.Kind) {
	if m != nil {
		m.mails.WithLabelValues(string(kind), "capped").Inc()
	}
}

func (m *Metrics) securityEvent(t secevent.Type) {
	if m != nil {
		m.events.WithLabelValues(string(t)).Inc()
	}
}
