package authn

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riskauth/riskauth/authn/mail"
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
	ch      chan queued
	pending sync.WaitGroup // queued and not yet handed over
	workers sync.WaitGroup
	// enqueued counts every mail put on the queue, dropped ones included:
	// the work a request did, which tests compare across accounts.
	enqueued atomic.Int64
}

// queued is one mail on the queue: the render function the worker calls
// (so that rendering, about 0.1 ms, stays off the request path). discard
// marks a mail queued only so that a request that must not mail (an
// unknown address, the mail cap) does the same work as one that does:
// the worker renders it too, then drops it (samework.go).
type queued struct {
	kind    mail.Kind
	render  func() (mail.Message, error)
	discard bool
}

func newMailQueue(m mail.Mailer, size, workers int, log *slog.Logger, metrics *Metrics) *mailQueue {
	q := &mailQueue{mailer: m, log: log, metrics: metrics, ch: make(chan queued, size)}
	for range workers {
		q.workers.Add(1)
		go q.run()
	}
	return q
}

func (q *mailQueue) run() {
	defer q.workers.Done()
	for j := range q.ch {
		msg, err := j.render()
		if err != nil {
			// A bug in templates or input; the flow itself succeeded.
			q.log.Error("mail not rendered", "kind", string(j.kind), "err", err)
			q.pending.Done()
			continue
		}
		if j.discard {
			q.pending.Done()
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), mailSendTimeout)
		err = q.mailer.Send(ctx, msg)
		cancel()
		if err != nil {
			// The message may hold a code or link: log only its kind.
			q.log.Error("mail not sent", "kind", string(msg.Kind), "err", err)
		}
		q.metrics.mailSent(msg.Kind, err)
		q.pending.Done()
	}
}

// enqueueRender queues a mail of kind that the worker renders with fn and
// sends, or, with discard, renders and drops: either way the request
// path does the same. It never blocks: when the queue is full the mail is
// dropped and logged, because holding a sign-in for a mail is worse.
func (q *mailQueue) enqueueRender(kind mail.Kind, fn func() (mail.Message, error), discard bool) {
	q.put(queued{kind: kind, render: fn, discard: discard})
}

func (q *mailQueue) put(j queued) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.enqueued.Add(1)
	if q.closed {
		if !j.discard {
			q.log.Warn("mail dropped after close", "kind", string(j.kind))
		}
		return
	}
	q.pending.Add(1)
	select {
	case q.ch <- j:
	default:
		q.pending.Done()
		if !j.discard {
			q.log.Error("mail queue full, mail dropped", "kind", string(j.kind))
			q.metrics.mailSent(j.kind, errQueueFull)
		}
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
