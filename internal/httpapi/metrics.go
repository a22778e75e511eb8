package httpapi

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskauth/riskauth/internal/leaf/promshard"
)

// unmatchedRoute labels requests that matched no route, so that the label
// set stays bounded whatever paths clients send.
const unmatchedRoute = "unmatched"

// httpMetrics are the HTTP series. Labels are bounded: route is one of the
// registered route patterns or "unmatched", code an HTTP status. Both are
// updated on every request, so they are promshard's, sharded per P:
// client_golang's shared atomic words bounce between the cores.
type httpMetrics struct {
	requests *promshard.CounterVec
	duration *promshard.HistogramVec
	// routes maps each route pattern to its series, resolved once: label
	// returns a string it owns, never the caller's (fiber's strings alias
	// request buffers), and observe skips the label hashing of WithLabelValues.
	routes    map[string]*routeSeries // filled by New, read-only afterwards
	unmatched *routeSeries
}

// routeSeries are one route's resolved series.
type routeSeries struct {
	name     string
	duration *promshard.Histogram
	codes    sync.Map // int status -> *promshard.Counter
}

func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: promshard.NewCounterVec(prometheus.CounterOpts{
			Name: "riskauth_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: promshard.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "riskauth_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern (body read excluded).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"route"}),
		routes: map[string]*routeSeries{},
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("httpapi: register metrics: %w", err)
		}
	}
	m.unmatched = m.series(unmatchedRoute)
	return m, nil
}

// addRoute declares a route pattern as a label value.
func (m *httpMetrics) addRoute(path string) { m.routes[path] = m.series(path) }

func (m *httpMetrics) series(route string) *routeSeries {
	return &routeSeries{name: route, duration: m.duration.WithLabelValues(route)}
}

// label maps a route pattern (or a raw path) to its bounded series.
func (m *httpMetrics) label(path string) *routeSeries {
	if r, ok := m.routes[path]; ok {
		return r
	}
	return m.unmatched
}

// observe records one answered request; d == 0 means the duration is
// unknown (a request refused by the HTTP server before routing).
func (m *httpMetrics) observe(r *routeSeries, code int, d time.Duration) {
	c, ok := r.codes.Load(code)
	if !ok {
		c, _ = r.codes.LoadOrStore(code, m.requests.WithLabelValues(r.name, strconv.Itoa(code)))
	}
	c.(*promshard.Counter).Inc()
	if d > 0 {
		r.duration.Observe(d.Seconds())
	}
}
