package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/engine/alert/spool"
	"github.com/riskauth/riskauth/rules"
	"github.com/segmentio/kafka-go"
)

// Deps are the sink's collaborators; all are optional.
type Deps struct {
	Logger *slog.Logger
	// Metrics default to a private registry (nothing exported).
	Metrics *Metrics
	// Encoder stamps the product metadata (default: an empty Meta).
	Encoder *ocsf.Encoder
}

// Sink delivers decisions and security events to Kafka, or to JSONL files
// in the embedded mode. It is safe for concurrent use.
type Sink struct {
	cfg Config
	log *slog.Logger
	m   *Metrics
	enc *ocsf.Encoder

	// mu orders Publish against Close: Publish holds it shared so that
	// nothing is put on the queue after the worker's last look at it.
	mu     sync.RWMutex
	closed bool
	queue  chan item

	alerts, decisions destination // decisions is nil when off

	writer *kafka.Writer
	lanes  []*lane
	files  []*jsonlFile

	stop       chan struct{}
	workerDone chan struct{}

	agg *aggregator // nil when aggregation is off

	closeOnce sync.Once
	closeErr  error
}

var _ engine.DecisionSink = (*Sink)(nil)

// item is one thing to deliver: a decision or a security event.
type item struct {
	d  *engine.Decision
	ev *ocsf.SecurityEvent
	rc *rules.Change
	// finding: d's finding goes to the alerts topic (an alert the
	// aggregator did not fold). closed: summaries of the groups that
	// admitting d closed, sent before it.
	finding bool
	closed  []summary
}

// message is one encoded message, ready for Kafka or a file.
type message struct {
	key, value []byte
	// rec, when set, is the spool record: the envelope header, then value.
	rec  []byte
	id   string
	time time.Time
	// pooled marks rec as a buffer from bufPool, to hand back once the
	// message is delivered (see release).
	pooled bool
}

// bufPool recycles message buffers. Every decision and alert used to cost
// a fresh 4 KiB; with a busy sink that allocation made the garbage
// collector, and through its assists the evaluations themselves, pay.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// release hands the buffers of msgs back to the pool. Call it only when
// nothing can read them any more: after a successful produce call (kafka-go
// has finished with the batch) or after the spool or a file copied them.
// After a failed produce, kafka-go may still hold the batch: those
// buffers are left to the garbage collector.
func release(msgs []message) {
	for i := range msgs {
		m := &msgs[i]
		if m.pooled && cap(m.rec) <= 16<<10 {
			b := m.rec[:0]
			bufPool.Put(&b)
		}
		m.pooled, m.rec, m.value = false, nil, nil
	}
}

func (m *message) size() int64 { return int64(len(m.key) + len(m.value) + len(m.id) + 64) }

// destination takes encoded messages for one topic. reason is empty on
// the worker's normal path.
type destination interface {
	route(msgs []message, reason string)
	status() TopicStatus
	// series are the topic's metrics.
	series() *topicSeries
}

// New validates cfg, opens the spools (Kafka mode) or the JSONL files
// (embedded mode) and starts the worker. The returned sink must be
// closed.
func New(cfg Config, deps Deps) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if deps.Encoder == nil {
		deps.Encoder = ocsf.NewEncoder(ocsf.Meta{})
	}
	s := &Sink{cfg: cfg, log: deps.Logger.With("component", "alert"), m: deps.Metrics, enc: deps.Encoder,
		queue: make(chan item, cfg.QueueSize), stop: make(chan struct{}), workerDone: make(chan struct{})}
	var err error
	if cfg.Embedded() {
		err = s.openFiles()
	} else {
		err = s.openKafka()
	}
	if err != nil {
		// Nothing was started: release what was opened.
		if cerr := s.release(context.Background(), false); cerr != nil {
			s.log.Warn("alert: cleanup after a failed start", "err", cerr)
		}
		return nil, err
	}
	if cfg.AggregateWindow > 0 {
		s.agg = newAggregator(cfg.AggregateWindow, cfg.AggregateGroups)
	}
	for _, l := range s.lanes {
		go l.run()
	}
	go s.run()
	return s, nil
}

func (s *Sink) openFiles() error {
	if err := os.MkdirAll(s.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("alert: data dir: %w", err)
	}
	open := func(name, topic string) (*jsonlFile, error) {
		f, err := openJSONL(filepath.Join(s.cfg.DataDir, name), s.m.topic(topic), s.log)
		if err != nil {
			return nil, err
		}
		s.files = append(s.files, f)
		return f, nil
	}
	f, err := open("alerts.jsonl", s.cfg.AlertsTopic)
	if err != nil {
		return err
	}
	s.alerts = f
	if s.cfg.DecisionsTopic != "" {
		if f, err = open("decisions.jsonl", s.cfg.DecisionsTopic); err != nil {
			return err
		}
		s.decisions = f
	}
	return nil
}

func (s *Sink) openKafka() error {
	codec, _ := compression(s.cfg.Compression) // checked by Validate
	tr := &kafka.Transport{ClientID: s.cfg.ClientID, DialTimeout: min(5*time.Second, s.cfg.WriteTimeout)}
	if s.cfg.TLS != nil {
		tc, err := s.cfg.TLS.ClientConfig()
		if err != nil {
			return fmt.Errorf("alert: %w", err)
		}
		tr.TLS = tc
	}
	if s.cfg.SASL != nil {
		mech, err := s.cfg.SASL.mechanism()
		if err != nil {
			return fmt.Errorf("alert: %w", err)
		}
		tr.SASL = mech
	}
	kafkaLog := s.log.With("component", "kafka-go")
	s.writer = &kafka.Writer{
		Addr: kafka.TCP(s.cfg.Brokers...),
		// Murmur2 on the key, like Java clients: a user's messages land on
		// the partition every other producer would pick.
		Balancer:        &kafka.Murmur2Balancer{},
		MaxAttempts:     s.cfg.MaxAttempts,
		WriteBackoffMin: min(100*time.Millisecond, s.cfg.RetryBackoffMin),
		WriteBackoffMax: s.cfg.RetryBackoffMax,
		// One produce call per topic carries at most BatchSize messages
		// and BatchBytes bytes (the lane cuts its batches that way), so
		// each partition's share is one record batch: it lands whole or
		// not at all, and a retry cannot reorder a key's messages.
		BatchSize:    s.cfg.BatchSize,
		BatchBytes:   s.cfg.BatchBytes,
		BatchTimeout: s.cfg.BatchTimeout,
		WriteTimeout: s.cfg.WriteTimeout,
		ReadTimeout:  s.cfg.WriteTimeout,
		RequiredAcks: kafka.RequireAll,
		Async:        false,
		Compression:  codec,
		Transport:    tr,
		ErrorLogger: kafka.LoggerFunc(func(format string, args ...any) {
			kafkaLog.Debug(fmt.Sprintf(format, args...))
		}),
	}
	sync, _ := syncPolicy(s.cfg.SpoolSync)
	open := func(dir, topic string) (*lane, error) {
		sp, err := spool.Open(spool.Options{Dir: filepath.Join(s.cfg.SpoolDir, dir), MaxBytes: s.cfg.SpoolMaxBytes,
			Sync: sync, Logger: s.log.With("spool", dir)})
		if err != nil {
			return nil, fmt.Errorf("alert: spool %s: %w", dir, err)
		}
		l := newLane(topic, &s.cfg, s.writer, sp, s.m, s.log)
		s.lanes = append(s.lanes, l)
		return l, nil
	}
	l, err := open("alerts", s.cfg.AlertsTopic)
	if err != nil {
		return err
	}
	s.alerts = l
	if s.cfg.DecisionsTopic != "" {
		if l, err = open("decisions", s.cfg.DecisionsTopic); err != nil {
			return err
		}
		s.decisions = l
	}
	return nil
}

// Publish queues a decision for delivery; it never waits for Kafka or
// the disk in the common case. The decision must not be modified
// afterwards. When the queue is full the caller encodes and hands the
// messages on itself (see the package documentation).
func (s *Sink) Publish(d *engine.Decision) {
	if d == nil {
		return
	}
	it := item{d: d, finding: ocsf.IsAlert(d)}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		if it.finding || s.decisions != nil {
			s.alerts.series().dropped(reasonClosed, 1)
		}
		return
	}
	// Folding happens here, on the caller's goroutine, rather than in the
	// worker: during a stuffing wave nearly every block is folded, and an
	// alert that is only counted then costs no queue hand-off and no
	// worker wake-up (on a quiet server, a wake-up costs more CPU than the
	// evaluation did).
	if it.finding && s.agg != nil {
		it.finding, it.closed = s.agg.admit(d, time.Now())
		if !it.finding {
			s.m.aggregated.Inc()
		}
	}
	if it.finding || len(it.closed) > 0 || s.decisions != nil {
		s.enqueueLocked(it)
	}
}

// Emit queues an account security event for the alerts topic, with the
// same guarantees as Publish. The event must not be modified afterwards.
func (s *Sink) Emit(ev *ocsf.SecurityEvent) {
	if ev != nil {
		s.enqueue(item{ev: ev})
	}
}

// Audit queues an audited rule-set change (promote, rollback, candidate,
// hot reload) for the alerts topic as an OCSF Entity Management event,
// with the same guarantees as Publish. Its signature is the
// rules.SourceConfig.OnAudit hook's.
func (s *Sink) Audit(c rules.Change) {
	s.enqueue(item{rc: &c})
}

func (s *Sink) enqueue(it item) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.alerts.series().dropped(reasonClosed, 1)
		return
	}
	s.enqueueLocked(it)
}

// enqueueLocked queues it; the caller holds s.mu for reading and has
// checked that the sink is open.
func (s *Sink) enqueueLocked(it item) {
	select {
	case s.queue <- it:
		return
	default:
	}
	// The worker is behind (CPU or disk, never Kafka: it does not wait
	// for Kafka). Run its job here rather than block or drop.
	s.m.overflow.Inc()
	s.process([]item{it}, reasonQueueFull)
}

// run is the worker: it takes what is queued, encodes it and routes it.
func (s *Sink) run() {
	defer close(s.workerDone)
	batch := make([]item, 0, s.cfg.BatchSize)
	var sweep <-chan time.Time
	if s.agg != nil {
		t := time.NewTicker(max(s.cfg.AggregateWindow/4, 10*time.Millisecond))
		defer t.Stop()
		sweep = t.C
	}
	for {
		select {
		case now := <-sweep:
			s.summaries(s.agg.sweep(now), "")
			continue
		case it := <-s.queue:
			batch = append(batch, it)
		case <-s.stop:
			// Publish can no longer add (Close holds mu): empty the queue.
			for {
				batch = s.fill(batch)
				s.process(batch, "")
				if len(batch) < s.cfg.BatchSize {
					return
				}
				clear(batch)
				batch = batch[:0]
			}
		}
		batch = s.fill(batch)
		s.m.queueLen.Set(float64(len(s.queue)))
		s.process(batch, "")
		clear(batch)
		batch = batch[:0]
	}
}

// fill adds what is queued to batch, up to BatchSize items, without
// waiting.
func (s *Sink) fill(batch []item) []item {
	for len(batch) < s.cfg.BatchSize {
		select {
		case it := <-s.queue:
			batch = append(batch, it)
		default:
			return batch
		}
	}
	return batch
}

// process encodes items and routes them to their topics, in order.
func (s *Sink) process(items []item, reason string) {
	if len(items) == 0 {
		return
	}
	var alerts, decisions []message
	for _, it := range items {
		if it.rc != nil {
			rc := it.rc
			if m, ok := s.encode(rc.At, ocsf.RuleChangeKey, s.alerts, func(dst []byte, id string) ([]byte, error) {
				return s.enc.RuleChange(dst, rc, id)
			}); ok {
				alerts = append(alerts, m)
			}
			continue
		}
		if it.ev != nil {
			ev := it.ev
			if m, ok := s.encode(ev.Time, ocsf.SecurityKey(ev), s.alerts, func(dst []byte, id string) ([]byte, error) {
				return s.enc.Security(dst, ev, id)
			}); ok {
				alerts = append(alerts, m)
			}
			continue
		}
		d := it.d
		key := ocsf.Key(d)
		if s.decisions != nil {
			if m, ok := s.encode(d.Time, key, s.decisions, func(dst []byte, id string) ([]byte, error) {
				return s.enc.Authentication(dst, d, id)
			}); ok {
				decisions = append(decisions, m)
			}
		}
		alerts = s.encodeSummaries(alerts, it.closed)
		if !it.finding {
			continue
		}
		if m, ok := s.encode(d.Time, key, s.alerts, func(dst []byte, id string) ([]byte, error) {
			return s.enc.Finding(dst, d, id)
		}); ok {
			alerts = append(alerts, m)
		}
	}
	if len(alerts) > 0 {
		s.alerts.route(alerts, reason)
	}
	if len(decisions) > 0 {
		s.decisions.route(decisions, reason)
	}
}

// encodeSummaries appends the findings that stand for closed groups.
func (s *Sink) encodeSummaries(alerts []message, closed []summary) []message {
	for _, c := range closed {
		agg := ocsf.Aggregate{Count: c.n, Start: c.first, End: c.last}
		if m, ok := s.encode(c.last, ocsf.Key(c.d), s.alerts, func(dst []byte, id string) ([]byte, error) {
			return s.enc.FindingAggregate(dst, c.d, id, agg)
		}); ok {
			alerts = append(alerts, m)
		}
	}
	return alerts
}

// summaries sends the findings of closed groups.
func (s *Sink) summaries(closed []summary, reason string) {
	if alerts := s.encodeSummaries(nil, closed); len(alerts) > 0 {
		s.alerts.route(alerts, reason)
	}
}

func (s *Sink) encode(at time.Time, key string, dst destination, fn func([]byte, string) ([]byte, error)) (message, bool) {
	// UUIDv7: unique for de-duplication, and time-ordered so that
	// consumers' indexes stay compact.
	id := uuid.Must(uuid.NewV7()).String()
	// Encode behind the spool envelope's header: should the message go
	// to the spool, the record is ready without another copy.
	bp := bufPool.Get().(*[]byte)
	hdr := envelopeHeader((*bp)[:0], key, id, at)
	rec, err := fn(hdr, id)
	ts := dst.series()
	if err != nil {
		ts.dropped(reasonEncode, 1)
		s.log.Error("alert: cannot encode a message; dropped", "topic", ts.topic, "id", id, "err", err)
		return message{}, false
	}
	m := message{key: []byte(key), value: rec[len(hdr):], rec: rec, id: id, time: at, pooled: true}
	if m.size() > s.cfg.BatchBytes {
		ts.dropped(reasonTooLarge, 1)
		s.log.Error("alert: message larger than batch_bytes; Kafka would refuse it; dropped",
			"topic", ts.topic, "id", id, "bytes", m.size(), "batch_bytes", s.cfg.BatchBytes)
		return message{}, false
	}
	return m, true
}

// Close stops taking messages, delivers what is queued to Kafka within
// ctx and spools the rest, then closes the producer and the spools. It
// is idempotent; later calls return the first call's result.
func (s *Sink) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.close(ctx) })
	return s.closeErr
}

func (s *Sink) close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	<-s.workerDone // quick: the worker only encodes and hands on
	if s.agg != nil {
		// Folded alerts are reported before the lanes stop, like the
		// queue's contents.
		s.summaries(s.agg.closeAll(), reasonShutdown)
	}

	for _, l := range s.lanes {
		l.beginStop()
	}
	for _, l := range s.lanes {
		select {
		case <-l.done:
		case <-ctx.Done():
			l.abort()
			<-l.done
		}
		if n, b := l.sp.Len(), l.sp.Bytes(); n > 0 {
			// Not an error: delivered after the next start.
			s.log.Info("alert: messages left in the spool for the next start", "topic", l.topic, "messages", n, "bytes", b)
		}
	}
	return s.release(ctx, true)
}

// release closes the producer (when wait is set, for at most ctx: a
// producer that never connected has nothing to wait for), the spools and
// the files.
func (s *Sink) release(ctx context.Context, wait bool) error {
	var errs []error
	if s.writer != nil && wait {
		// kafka-go's Close waits for background retries; never longer
		// than the caller allows.
		done := make(chan error, 1)
		go func() { done <- s.writer.Close() }()
		select {
		case err := <-done:
			if err != nil {
				errs = append(errs, fmt.Errorf("alert: close producer: %w", err))
			}
		case <-ctx.Done():
			s.log.Warn("alert: Kafka producer still busy at shutdown; abandoned")
		}
	}
	for _, l := range s.lanes {
		if err := l.sp.Close(); err != nil {
			errs = append(errs, fmt.Errorf("alert: close spool %s: %w", l.topic, err))
		}
	}
	for _, f := range s.files {
		if err := f.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Status is the sink's state, for /readyz and operators. A topic in
// spooling mode is degraded, not down: nothing is lost while its spool
// has room.
type Status struct {
	// Transport is kafka or jsonl.
	Transport   string        `json:"transport"`
	QueueLength int           `json:"queue_length"`
	Topics      []TopicStatus `json:"topics"`
}

// TopicStatus is one topic's delivery state.
type TopicStatus struct {
	Topic string `json:"topic"`
	// Mode is direct (Kafka healthy), spooling (Kafka down or behind:
	// messages go to the spool and are drained in order) or file (JSONL).
	Mode string `json:"mode"`
	// Pending messages are handed to the producer and not yet acknowledged.
	Pending      int   `json:"pending"`
	SpoolRecords int   `json:"spool_records"`
	SpoolBytes   int64 `json:"spool_bytes"`
	// LastError is when a produce last failed (zero if never).
	LastError time.Time `json:"last_error,omitzero"`
}

// Status reports the delivery state of every topic.
func (s *Sink) Status() Status {
	st := Status{Transport: "kafka", QueueLength: len(s.queue)}
	if s.cfg.Embedded() {
		st.Transport = "jsonl"
	}
	for _, d := range []destination{s.alerts, s.decisions} {
		if d != nil {
			st.Topics = append(st.Topics, d.status())
		}
	}
	return st
}
