package alert

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

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

// newMessageID is a message's metadata.uid. UUIDv7: unique for
// de-duplication, and time-ordered so that consumers' indexes stay
// compact.
func newMessageID() string { return uuid.Must(uuid.NewV7()).String() }

func (s *Sink) encode(at time.Time, key string, dst destination, fn func([]byte, string) ([]byte, error)) (message, bool) {
	return s.encodeID(newMessageID(), at, key, dst, fn)
}

// encodeID is encode with the message id given: an event that goes to two
// topics keeps one id.
func (s *Sink) encodeID(id string, at time.Time, key string, dst destination, fn func([]byte, string) ([]byte, error)) (message, bool) {
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
