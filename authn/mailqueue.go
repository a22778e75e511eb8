package authn

import (
	"context"
	"log/slog"
	"sync"
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
