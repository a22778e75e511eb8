package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskauth/riskauth/engine/alert/spool"
)

// Start begins delivery: one goroutine per endpoint, until Close.
func (d *Dispatcher) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan struct{})
	go func() {
		defer close(d.done)
		done := make(chan struct{}, len(d.targets))
		for _, t := range d.targets {
			go func() { d.run(ctx, t); done <- struct{}{} }()
		}
		for range d.targets {
			<-done
		}
	}()
}

// Close stops delivery (an attempt in flight is abandoned, and made again
// after a restart: the event stays in the spool until acknowledged) and
// closes the spools. It is safe without Start and more than once.
func (d *Dispatcher) Close(ctx context.Context) error {
	if d.cancel != nil {
		d.cancel()
		select {
		case <-d.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		d.cancel = nil
	}
	var errs []error
	for _, t := range d.targets {
		if t.sp != nil {
			errs = append(errs, t.sp.Close())
			t.sp = nil
		}
	}
	return errors.Join(errs...)
}

// idle is how long a worker with nothing to send waits before looking
// again (Emit wakes it at once).
const idle = 5 * time.Second

// run delivers t's events in order, one at a time.
func (d *Dispatcher) run(ctx context.Context, t *target) {
	attempts := 0
	for ctx.Err() == nil {
		recs, err := t.sp.Read(1)
		if err != nil {
			d.cfg.Logger.Warn("webhook spool unreadable", "endpoint", t.ep.Name, "err", err)
		}
		if len(recs) == 0 {
			select {
			case <-ctx.Done():
			case <-t.wake:
			case <-time.After(idle):
			}
			continue
		}
		rec := recs[0]
		err = d.post(ctx, t, rec.Data)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			attempts = 0
			d.ack(t, rec.Pos)
			d.m.delivered.WithLabelValues(t.ep.Name).Inc()
			continue
		}
		attempts++
		d.m.failures.WithLabelValues(t.ep.Name).Inc()
		d.cfg.Logger.Warn("webhook delivery failed", "endpoint", t.ep.Name, "attempt", attempts, "err", err)
		if attempts >= d.cfg.MaxAttempts {
			d.deadLetter(t, rec.Data, attempts, err)
			d.ack(t, rec.Pos)
			attempts = 0
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(d.backoff(attempts)):
		}
	}
}

// backoff is the wait after the n-th failure: Backoff · 2^(n-1), capped.
func (d *Dispatcher) backoff(n int) time.Duration {
	b := d.cfg.Backoff
	for i := 1; i < n && b < d.cfg.MaxBackoff; i++ {
		b *= 2
	}
	return min(b, d.cfg.MaxBackoff)
}

func (d *Dispatcher) ack(t *target, pos spool.Position) {
	if err := t.sp.Ack(pos); err != nil {
		d.cfg.Logger.Warn("webhook spool ack failed", "endpoint", t.ep.Name, "err", err)
	}
	d.m.pending.WithLabelValues(t.ep.Name).Set(float64(t.sp.Len()))
}

// post sends body once; a 2xx answer is a delivery, anything else (or
// no answer within Timeout) a failure.
func (d *Dispatcher) post(ctx context.Context, t *target, body []byte) error {
	var p payload
	_ = json.Unmarshal(body, &p)
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.ep.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "riskauth-webhook")
	req.Header.Set(HeaderEventID, p.ID)
	req.Header.Set(HeaderSignature, Sign(t.ep.Secret, body, d.cfg.Clock.Now()))
	start := time.Now()
	resp, err := d.cfg.Client.Do(req)
	d.m.latency.WithLabelValues(t.ep.Name).Observe(time.Since(start).Seconds())
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// deadLetter records an event that exhausted its attempts, with the last
// error, in the endpoint's dead-letter file (JSON lines, 0600).
func (d *Dispatcher) deadLetter(t *target, body []byte, attempts int, cause error) {
	// Counted once written, so that the count never runs ahead of the
	// file.
	defer d.m.dead.WithLabelValues(t.ep.Name).Inc()
	line, _ := json.Marshal(struct {
		At       time.Time       `json:"dead_lettered_at"`
		Attempts int             `json:"attempts"`
		Error    string          `json:"error"`
		Event    json.RawMessage `json:"event"`
	}{d.cfg.Clock.Now().UTC(), attempts, cause.Error(), body})
	f, err := os.OpenFile(t.dead, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err == nil {
		_, err = f.Write(append(line, '\n'))
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		d.cfg.Logger.Error("webhook dead letter not written", "endpoint", t.ep.Name, "err", err)
	}
}

// metrics are per endpoint (the label is the configured name: bounded).
type metrics struct {
	delivered, failures, dead, dropped *prometheus.CounterVec
	pending                            *prometheus.GaugeVec
	latency                            *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	lbl := []string{"endpoint"}
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "riskauth_webhook_delivered_total", Help: "Events delivered (2xx) per endpoint."}, lbl),
		failures:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "riskauth_webhook_failures_total", Help: "Failed delivery attempts per endpoint (non-2xx, timeout, network)."}, lbl),
		dead:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "riskauth_webhook_dead_lettered_total", Help: "Events moved to the dead-letter file after the last attempt."}, lbl),
		dropped:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "riskauth_webhook_dropped_total", Help: "Events not queued: the endpoint's spool was full or failing."}, lbl),
		pending:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "riskauth_webhook_pending", Help: "Events queued for the endpoint, not yet delivered."}, lbl),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "riskauth_webhook_request_duration_seconds", Help: "Duration of one delivery attempt.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 8)}, lbl),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.delivered, m.failures, m.dead, m.dropped, m.pending, m.latency} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("webhook: metrics: %w", err)
			}
		}
	}
	return m, nil
}
