package alert

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/riskauth/riskauth/engine/alert/spool"
	"github.com/segmentio/kafka-go"
)

// producer is the part of kafka.Writer a lane uses.
type producer interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// lane delivers one topic's messages in order. It is in one of two modes:
//
//   - direct: messages wait in memory (pending) and the lane's goroutine
//     produces them;
//   - spooling: every new message is appended to the topic's spool, and
//     the lane's goroutine drains the spool into Kafka.
//
// Only the lane's goroutine produces, one call at a time, so no message
// overtakes another. The switch to spooling first appends everything
// still pending, the batch in flight included, so the spool holds the
// topic's whole unacknowledged tail in order (the batch in flight may
// then arrive twice: consumers de-duplicate by id). Only the lane's
// goroutine switches back, when the spool is empty and nothing is in
// flight.
type lane struct {
	topic string
	ts    *topicSeries
	cfg   *Config
	w     producer
	sp    *spool.Spool
	log   *slog.Logger
	// maxPending bounds memory while Kafka is slow; past it the lane
	// spools, so the worker never waits for Kafka.
	maxPending int

	mu        sync.Mutex
	spooling  bool
	pending   []message
	lastError time.Time
	drops     dropLog

	wake   chan struct{}
	stop   chan struct{}
	ctx    context.Context // cancelled by abort: ends a write in flight
	cancel context.CancelFunc
	done   chan struct{}
}

func newLane(topic string, cfg *Config, w producer, sp *spool.Spool, m *Metrics, log *slog.Logger) *lane {
	ctx, cancel := context.WithCancel(context.Background())
	l := &lane{topic: topic, ts: m.topic(topic), cfg: cfg, w: w, sp: sp, log: log.With("topic", topic),
		maxPending: max(cfg.QueueSize, 2*cfg.BatchSize), wake: make(chan struct{}, 1), stop: make(chan struct{}),
		ctx: ctx, cancel: cancel, done: make(chan struct{})}
	// A spool left by the previous run is drained before anything new
	// goes direct.
	l.spooling = sp.Len() > 0
	l.ts.spoolBytes.Set(float64(sp.Bytes()))
	if l.spooling {
		l.log.Info("alert: delivering messages spooled by a previous run", "messages", sp.Len(), "bytes", sp.Bytes())
	}
	return l
}

func (l *lane) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// route takes the worker's (or an overflowing Publish's) messages.
func (l *lane) route(msgs []message, reason string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.spooling {
		if len(l.pending)+len(msgs) <= l.maxPending {
			l.pending = append(l.pending, msgs...)
			l.signal()
			return
		}
		l.toSpool(reasonKafkaSlow, nil)
	}
	if reason == "" {
		reason = reasonBacklog
	}
	l.appendSpool(msgs, reason)
	// New messages, never handed to the producer: the spool has its copy.
	release(msgs)
	l.signal()
}

// toSpool switches to spooling; l.mu is held.
func (l *lane) toSpool(reason string, err error) {
	n := len(l.pending)
	if n > 0 {
		l.appendSpool(l.pending, reason)
	}
	// A fresh slice, not l.pending[:0]: the run goroutine may be reading
	// a batch cut from the old one while it is in flight.
	l.pending = nil
	l.spooling = true
	l.log.Warn("alert: Kafka unavailable or slow; spooling to disk", "reason", reason, "moved", n, "err", err)
}

// appendSpool appends in order; l.mu is held. What does not fit is
// dropped, newest first, and said loudly.
func (l *lane) appendSpool(msgs []message, reason string) {
	recs := make([][]byte, len(msgs))
	for i := range msgs {
		recs[i] = envelope(&msgs[i])
	}
	err := l.sp.Append(recs...)
	n := len(recs)
	if errors.Is(err, spool.ErrFull) {
		// Fit what still fits, keeping the order.
		n = 0
		for _, r := range recs {
			if err = l.sp.Append(r); err != nil {
				break
			}
			n++
		}
	}
	if n > 0 {
		l.ts.spooled(reason, n)
	}
	l.ts.spoolBytes.Set(float64(l.sp.Bytes()))
	if err == nil {
		return
	}
	why := reasonSpoolError
	if errors.Is(err, spool.ErrFull) {
		why = reasonSpoolFull
	}
	l.ts.dropped(why, len(recs)-n)
	l.drops.add(l.log, why, len(recs)-n, l.sp.Bytes(), err)
}

// beginStop asks the goroutine to finish: deliver what is pending, leave
// the spool for the next start.
func (l *lane) beginStop() { close(l.stop) }

// abort moves what is still pending to the spool and ends the write in
// flight.
func (l *lane) abort() {
	l.mu.Lock()
	if !l.spooling && len(l.pending) > 0 {
		l.toSpool(reasonShutdown, context.DeadlineExceeded)
	}
	l.mu.Unlock()
	l.cancel()
}

func (l *lane) stopping() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *lane) run() {
	defer close(l.done)
	backoff := time.Duration(0)
	for {
		l.mu.Lock()
		if !l.spooling && len(l.pending) > 0 {
			batch := l.cut(l.pending)
			l.mu.Unlock()
			err := l.write(batch)
			l.mu.Lock()
			switch {
			case err == nil:
				l.ts.produced.Add(float64(len(batch)))
				release(batch)
				// Unless the lane switched to spooling while the batch was
				// in flight (the switch moved it out of l.pending into the
				// spool, whence it goes again), it leaves l.pending now.
				if !l.spooling {
					n := copy(l.pending, l.pending[len(batch):])
					clear(l.pending[n:])
					l.pending = l.pending[:n]
				}
			case l.spooling:
				// Failed, but the switch already put the batch in the spool.
			default:
				l.ts.kafkaErr.Inc()
				l.lastError = time.Now()
				l.toSpool(reasonKafkaError, err)
			}
			l.mu.Unlock()
			continue
		}
		spooling := l.spooling
		l.mu.Unlock()
		if l.stopping() {
			return
		}
		if spooling {
			if l.drain() {
				backoff = 0
				continue
			}
			backoff = l.backoff(backoff)
			select {
			case <-time.After(backoff):
			case <-l.stop:
			}
			continue
		}
		select {
		case <-l.wake:
		case <-l.stop:
		}
	}
}

func (l *lane) backoff(prev time.Duration) time.Duration {
	next := min(max(2*prev, l.cfg.RetryBackoffMin), l.cfg.RetryBackoffMax)
	// Jitter, so that many instances do not reconnect in step.
	return next/2 + rand.N(next/2+1)
}

// drain delivers one batch from the spool; false means try again later.
func (l *lane) drain() bool {
	recs, err := l.sp.Read(l.cfg.BatchSize)
	if err != nil {
		l.log.Error("alert: cannot read the spool", "err", err)
		return false
	}
	if len(recs) == 0 {
		l.mu.Lock()
		if l.sp.Len() == 0 {
			l.spooling = false
			l.log.Info("alert: spool drained; producing directly again")
		}
		l.mu.Unlock()
		return true
	}
	msgs := make([]message, 0, len(recs))
	var bytes int64
	last := -1
	for i, r := range recs {
		m, ok := unenvelope(r.Data)
		if !ok {
			// Cannot happen unless the disk lies (the spool checks CRCs);
			// skipping beats a drain stuck forever.
			l.ts.dropped(reasonCorrupt, 1)
			l.log.Error("alert: undecodable spool record; skipped")
			last = i
			continue
		}
		if len(msgs) > 0 && bytes+m.size() > l.cfg.BatchBytes {
			break
		}
		bytes += m.size()
		msgs = append(msgs, m)
		last = i
	}
	if len(msgs) > 0 {
		if err := l.write(msgs); err != nil {
			l.ts.kafkaErr.Inc()
			l.mu.Lock()
			l.lastError = time.Now()
			l.mu.Unlock()
			l.log.Debug("alert: spool drain failed; backing off", "err", err)
			return false
		}
	}
	if err := l.sp.Ack(recs[last].Pos); err != nil {
		// Delivered but not acknowledged: sent again later (at least once).
		l.log.Error("alert: cannot acknowledge spooled messages", "err", err)
		return false
	}
	l.ts.drained.Add(float64(len(msgs)))
	l.ts.produced.Add(float64(len(msgs)))
	l.ts.spoolBytes.Set(float64(l.sp.Bytes()))
	return true
}

// cut returns the head of msgs that fits one produce call.
func (l *lane) cut(msgs []message) []message {
	var bytes int64
	for i := range msgs {
		if i == l.cfg.BatchSize || (i > 0 && bytes+msgs[i].size() > l.cfg.BatchBytes) {
			return msgs[:i]
		}
		bytes += msgs[i].size()
	}
	return msgs
}

// headerID carries the event id, so consumers can de-duplicate without
// parsing the payload.
const headerID = "riskauth-event-id"

func (l *lane) write(msgs []message) error {
	kms := make([]kafka.Message, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		kms[i] = kafka.Message{Topic: l.topic, Key: m.key, Value: m.value, Time: m.time,
			Headers: []kafka.Header{{Key: headerID, Value: []byte(m.id)}}}
		if len(m.value) == 0 {
			kms[i].Value = nil // a tombstone (forget.go): a null value, also after the spool
		}
	}
	ctx, cancel := context.WithTimeout(l.ctx, l.cfg.WriteTimeout)
	defer cancel()
	t0 := time.Now()
	err := l.w.WriteMessages(ctx, kms...)
	l.ts.m.produce.Observe(time.Since(t0).Seconds())
	return err
}

func (l *lane) series() *topicSeries { return l.ts }

func (l *lane) status() TopicStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := TopicStatus{Topic: l.topic, Mode: "direct", Pending: len(l.pending), SpoolRecords: l.sp.Len(),
		SpoolBytes: l.sp.Bytes(), LastError: l.lastError}
	if l.spooling {
		st.Mode = "spooling"
	}
	return st
}

// Spool records are a small envelope, version 1:
// 1 | uvarint len(key) | key | uvarint len(id) | id | varint unix ms | value.
// The topic is the spool's.
func envelope(m *message) []byte {
	if m.rec != nil {
		return m.rec
	}
	b := envelopeHeader(make([]byte, 0, 1+3*binary.MaxVarintLen64+len(m.key)+len(m.id)+len(m.value)), string(m.key), m.id, m.time)
	return append(b, m.value...)
}

func envelopeHeader(b []byte, key, id string, at time.Time) []byte {
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	var ms int64
	if !at.IsZero() {
		ms = at.UnixMilli()
	}
	return binary.AppendVarint(b, ms)
}

func unenvelope(b []byte) (message, bool) {
	if len(b) == 0 || b[0] != 1 {
		return message{}, false
	}
	b = b[1:]
	field := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		f := b[k : k+int(n)]
		b = b[k+int(n):]
		return f, true
	}
	key, ok1 := field()
	id, ok2 := field()
	if !ok1 || !ok2 {
		return message{}, false
	}
	ms, k := binary.Varint(b)
	if k <= 0 {
		return message{}, false
	}
	m := message{key: key, id: string(id), value: b[k:]}
	if ms != 0 {
		m.time = time.UnixMilli(ms)
	}
	return m, true
}

// dropLog says loudly, at most every 10 seconds, that messages are lost.
type dropLog struct {
	last    time.Time
	pending int
}

func (d *dropLog) add(log *slog.Logger, reason string, n int, spoolBytes int64, err error) {
	d.pending += n
	if time.Since(d.last) < 10*time.Second {
		return
	}
	log.Error("alert: SPOOL FULL OR FAILING: messages are being DROPPED; restore Kafka or raise spool_max_bytes",
		"reason", reason, "dropped", d.pending, "spool_bytes", spoolBytes, "err", err)
	d.last = time.Now()
	d.pending = 0
}
