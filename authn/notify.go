package authn

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/secevent"
)

// mailSendTimeout bounds one delivery by a worker.
const mailSendTimeout = 30 * time.Second

// mailQueue sends mail off the request path. A flow that mails an existing
// account and one that (pretending) mails nobody then take the same time,
// and a slow SMTP server does not hold sign-ins.
type mailQueue struct {
	mailer  mail.Mailer
	log     *slog.Logger
	metrics *Metrics

	mu      sync.Mutex
	closed  bool
	ch      chan mail.Message
	pending sync.WaitGroup // queued and not yet handed over
	workers sync.WaitGroup
}

func newMailQueue(m mail.Mailer, size, workers int, log *slog.Logger, metrics *Metrics) *mailQueue {
	q := &mailQueue{mailer: m, log: log, metrics: metrics, ch: make(chan mail.Message, size)}
	for range workers {
		q.workers.Add(1)
		go q.run()
	}
	return q
}

func (q *mailQueue) run() {
	defer q.workers.Done()
	for msg := range q.ch {
		ctx, cancel := context.WithTimeout(context.Background(), mailSendTimeout)
		err := q.mailer.Send(ctx, msg)
		cancel()
		if err != nil {
			// The message may hold a code or link: log only its kind.
			q.log.Error("mail not sent", "kind", string(msg.Kind), "err", err)
		}
		q.metrics.mailSent(msg.Kind, err)
		q.pending.Done()
	}
}

// enqueue never blocks: when the queue is full the mail is dropped and
// logged, because holding a sign-in for a mail is worse.
func (q *mailQueue) enqueue(msg mail.Message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		q.log.Warn("mail dropped after close", "kind", string(msg.Kind))
		return
	}
	q.pending.Add(1)
	select {
	case q.ch <- msg:
	default:
		q.pending.Done()
		q.log.Error("mail queue full, mail dropped", "kind", string(msg.Kind))
		q.metrics.mailSent(msg.Kind, errQueueFull)
	}
}

func (q *mailQueue) flush(ctx context.Context) error {
	return waitGroup(ctx, &q.pending)
}

func (q *mailQueue) close(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	close(q.ch)
	q.mu.Unlock()
	return waitGroup(ctx, &q.workers)
}

// waitGroup waits for wg, or until ctx ends.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send renders with fn and queues the result; a rendering failure is a
// bug in templates or input and is logged, not returned, because the flow
// itself succeeded.
func (s *Service) send(kind mail.Kind, fn func() (mail.Message, error)) {
	msg, err := fn()
	if err != nil {
		s.log.Error("mail not rendered", "kind", string(kind), "err", err)
		return
	}
	s.mail.enqueue(msg)
}

// notify sends a security notification of an event-only kind.
func (s *Service) notify(kind mail.Kind, to string, c Client) {
	s.send(kind, func() (mail.Message, error) {
		return s.render.SecurityEvent(kind, to, s.requestContext(c))
	})
}

func (s *Service) notifyMFA(to string, change mail.MFAChange, factor string, c Client) {
	s.send(mail.KindMFAChanged, func() (mail.Message, error) {
		return s.render.MFAChanged(to, change, factor, s.requestContext(c))
	})
}

func (s *Service) requestContext(c Client) mail.RequestContext {
	rc := mail.RequestContext{When: s.clock.Now(), Device: c.UserAgent}
	if c.IP.IsValid() {
		rc.IP = c.IP.String()
	}
	return rc
}

// emit sends a security event to the SOC sink, when there is one.
func (s *Service) emit(t secevent.Type, u *User, c Client, sessionID string, details map[string]string) {
	s.metrics.securityEvent(t)
	if s.events == nil {
		return
	}
	ev := &secevent.Event{Type: t, IP: c.IP, UserAgent: c.UserAgent, SessionID: sessionID,
		Time: s.clock.Now(), Details: details}
	if u != nil {
		ev.UserID, ev.Email = u.ID, u.Email
	}
	s.events.Emit(ev)
}

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
			Help: "Mails handed to the mailer, by kind and result (sent, failed).",
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

func (m *Metrics) securityEvent(t secevent.Type) {
	if m != nil {
		m.events.WithLabelValues(string(t)).Inc()
	}
}
