package alert

import (
	"time"
)

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
	for _, d := range []destination{s.alerts, s.audit, s.decisions} {
		if d != nil {
			st.Topics = append(st.Topics, d.status())
		}
	}
	return st
}
