package velocity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bounds of the Redis backend's annotation writer (see Redis.AnnotatePending).
const (
	// annotateQueue is how many annotations may wait for the writer. At
	// the batch cap that is 16 pipelines: far more than a healthy Redis
	// ever lets pile up, and small enough (a few MB of JSON) to drop
	// rather than to grow without bound under an outage.
	annotateQueue = 4096
	// annotateBatch caps the SETs of one pipeline, so that one write does
	// not hold a connection (or a cluster node) for long.
	annotateBatch = 256
	// annotateLinger is how long the writer waits for more annotations
	// after the first one before it sends a pipeline: at a few hundred
	// evaluations per second that gathers several per round trip, and a
	// label never comes this soon anyway.
	annotateLinger = 2 * time.Millisecond
	// annotateTimeout bounds one pipeline. Nobody waits for it but the
	// writer, so it may be longer than an evaluation's state budget.
	annotateTimeout = time.Second
	// annotateCloseTimeout bounds how long Close waits for the queue to
	// be written.
	annotateCloseTimeout = 3 * time.Second
	// annotateLogEvery rate-limits the writer's log lines: under an
	// outage every pipeline fails, and one line per failure would bury
	// the log.
	annotateLogEvery = 10 * time.Second
)

// annotation is one pending evaluation's JSON, encoded by the caller.
type annotation struct {
	key string
	val []byte
}

// annotator is the bounded queue between AnnotatePending and the one
// goroutine that writes annotations in pipelines.
type annotator struct {
	// mu orders the queue sends (read lock) before Close (write lock):
	// once closed is set no send can follow, so the writer's final drain
	// sees every annotation that was accepted.
	mu     sync.RWMutex
	closed bool
	queue  chan annotation
	// flush asks the writer to write everything queued so far and then
	// close the channel it was sent.
	flush chan chan struct{}
	stop  chan struct{}
	done  chan struct{}
	// unwritten counts accepted annotations the writer has not finished
	// with, so that a label can skip the flush when there is none.
	unwritten atomic.Int64
	// dropped counts queue-full drops not yet logged (by the writer).
	dropped atomic.Int64
	log     *slog.Logger
}

func newAnnotator(log *slog.Logger) *annotator {
	return &annotator{
		queue: make(chan annotation, annotateQueue),
		flush: make(chan chan struct{}),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		log:   log,
	}
}

// enqueue hands it over without blocking. It reports ErrClosed after
// Close, and false when the queue is full.
func (a *annotator) enqueue(it annotation) (bool, error) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return false, ErrClosed
	}
	// Counted before the send: the writer may write it and subtract
	// before this goroutine runs again, and the count must never read 0
	// while an accepted annotation is unwritten.
	a.unwritten.Add(1)
	select {
	case a.queue <- it:
		return true, nil
	default:
		a.unwritten.Add(-1)
		a.dropped.Add(1)
		return false, nil
	}
}

// close stops the writer after it has written the queue, waiting at most
// annotateCloseTimeout. It is safe to call more than once.
func (a *annotator) close() error {
	a.mu.Lock()
	first := !a.closed
	a.closed = true
	a.mu.Unlock()
	if first {
		close(a.stop)
	}
	t := time.NewTimer(annotateCloseTimeout + time.Second)
	defer t.Stop()
	select {
	case <-a.done:
		return nil
	case <-t.C:
		return fmt.Errorf("velocity redis: annotations still being written after %s", annotateCloseTimeout)
	}
}

// wait returns once every annotation accepted before the call has been
// written (or has failed), the writer has stopped, or ctx is done.
func (a *annotator) wait(ctx context.Context) {
	if a.unwritten.Load() == 0 {
		return
	}
	w := make(chan struct{})
	select {
	case a.flush <- w:
	case <-a.done:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-w:
	case <-a.done:
	case <-ctx.Done():
	}
}

// writeAnnotations is the writer goroutine: it waits for an annotation,
// gathers what else comes within annotateLinger (up to annotateBatch),
// and sends them as one pipeline.
func (r *Redis) writeAnnotations() {
	a := r.ann
	defer close(a.done)
	var (
		batch   = make([]annotation, 0, annotateBatch)
		waiters []chan struct{}
		logs    annotateLog
		linger  = time.NewTimer(annotateLinger)
	)
	linger.Stop()
	// release answers the flush requests: what was queued when they
	// arrived is in the batch just written or still in the queue.
	release := func() {
		r.drainAnnotations(context.Background(), batch[:0], len(a.queue), &logs)
		for _, w := range waiters {
			close(w)
		}
		waiters = waiters[:0]
	}
	for {
		batch = batch[:0]
		select {
		case it := <-a.queue:
			batch = append(batch, it)
		case w := <-a.flush:
			waiters = append(waiters, w)
			release()
			continue
		case <-a.stop:
			r.finishAnnotations(batch, &logs)
			return
		}
		stopping := false
		linger.Reset(annotateLinger)
	gather:
		for len(batch) < annotateBatch {
			select {
			case it := <-a.queue:
				batch = append(batch, it)
			case <-linger.C:
				break gather
			case w := <-a.flush:
				// Somebody waits: no point lingering.
				waiters = append(waiters, w)
				break gather
			case <-a.stop:
				stopping = true
				break gather
			}
		}
		linger.Stop()
		r.writeAnnotationBatch(context.Background(), batch, &logs)
		if stopping {
			r.finishAnnotations(batch[:0], &logs)
			return
		}
		if len(waiters) > 0 {
			release()
		}
	}
}

// finishAnnotations writes batch and whatever is left in the queue, all
// within annotateCloseTimeout, and logs what failed since the last line.
// No annotation can be queued any more (the annotator is closed); flushes
// still waiting are answered by the writer's exit (done).
func (r *Redis) finishAnnotations(batch []annotation, logs *annotateLog) {
	ctx, cancel := context.WithTimeout(context.Background(), annotateCloseTimeout)
	defer cancel()
	r.drainAnnotations(ctx, batch, len(r.ann.queue), logs)
	logs.flush(r.ann.log)
}

// drainAnnotations writes batch (reusing its array), then n more
// annotations from the queue, annotateBatch at a time.
func (r *Redis) drainAnnotations(ctx context.Context, batch []annotation, n int, logs *annotateLog) {
	for {
		for ; n > 0 && len(batch) < annotateBatch; n-- {
			batch = append(batch, <-r.ann.queue)
		}
		if len(batch) == 0 {
			return
		}
		r.writeAnnotationBatch(ctx, batch, logs)
		batch = batch[:0]
	}
}

// writeAnnotationBatch sends one pipeline of SET key val XX KEEPTTL.
// A pending evaluation that expired or was never stored is not written
// (XX, a nil reply, not a failure); failures are counted and logged at
// most every annotateLogEvery.
func (r *Redis) writeAnnotationBatch(ctx context.Context, batch []annotation, logs *annotateLog) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, annotateTimeout)
	defer cancel()
	b := getCmdBuf()
	defer b.release()
	for _, it := range batch {
		b.add(redis.NewStatusCmd(ctx, b.argv("set", b.str(it.key), it.val, "xx", "keepttl")...))
	}
	cmds, err := b.exec(ctx, r.c)
	failed := 0
	if err != nil {
		// Exec reports the first error, which may be a harmless nil
		// reply (XX on a missing key) ahead of a real failure.
		for _, cmd := range cmds {
			if cerr := cmd.Err(); cerr != nil && !errors.Is(cerr, redis.Nil) {
				failed++
				err = cerr
			}
		}
		if len(cmds) == 0 && !errors.Is(err, redis.Nil) {
			failed = len(batch)
		}
	}
	// The JSON is garbage from here on: let it go with the batch's array.
	clear(batch)
	r.ann.unwritten.Add(-int64(len(batch)))
	if failed > 0 {
		r.metrics.backendErrors(backendRedis, opAnnotate, failed)
	}
	logs.add(r.ann.log, failed, err, r.ann.dropped.Swap(0))
}

// annotateLog accumulates the writer's failures and the queue's drops
// between two log lines. Only the writer goroutine uses it.
type annotateLog struct {
	last            time.Time
	failed, dropped int64
	err             error
}

func (l *annotateLog) add(log *slog.Logger, failed int, err error, dropped int64) {
	if failed == 0 && dropped == 0 {
		return
	}
	l.failed += int64(failed)
	l.dropped += dropped
	if failed > 0 {
		l.err = err
	}
	// A wall clock on purpose: this paces log lines, it is not event time.
	if time.Since(l.last) < annotateLogEvery {
		return
	}
	l.flush(log)
}

func (l *annotateLog) flush(log *slog.Logger) {
	if l.failed == 0 && l.dropped == 0 {
		return
	}
	log.Warn("velocity redis: matched rules not attached to pending evaluations; their labels will count for no rule",
		"failed", l.failed, "dropped_queue_full", l.dropped, "err", l.err)
	l.last = time.Now()
	l.failed, l.dropped, l.err = 0, 0, nil
}
