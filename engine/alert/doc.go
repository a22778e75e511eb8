// Package alert delivers the engine's decisions, authn's account security
// events and the audit trail of authentication to the SOC: to Kafka in
// production, to JSONL files in the embedded mode. It implements
// engine.DecisionSink.
//
// It is for getting messages out of the process, reliably and off the
// request path. It is not for deciding what is an alert (ocsf.IsAlert and
// the rule files do), for the message format (package ocsf), for the disk
// queue itself (package spool), or for consuming: nothing here reads
// Kafka.
//
// # Topics and keys
//
// AlertsTopic (default riskauth.alerts) receives an OCSF Detection Finding
// for every block and every decision whose matched rules carry an alert
// severity, and every account security event (MFA changes, lockouts, ...).
// AuditTopic (default riskauth.audit, always on) is the audit trail: every
// security event, those of the alerts topic byte for byte (one
// metadata.uid in both) and the audit-only authentication steps
// (secevent.Type.AuditOnly: sign-in succeeded or failed, second factor
// requested, passed or failed, sign-out, a session revoked).
// DecisionsTopic (default off) receives an OCSF Authentication event for
// every decision, for analytics and backtests. The key is the user
// (user id, else "id:" + the normalised identifier), else the client IP,
// and the partitioner is murmur2 like Java clients', so a user's messages
// share a partition. Producing waits for all in-sync replicas.
//
// # Path of a message
//
// Publish, Emit and Audit put a pointer on a bounded queue (QueueSize) and
// return; encoding happens on the worker goroutine. The worker hands each
// topic's messages to that topic's lane. A lane is in one of two modes:
//
//   - direct: messages wait in memory and the lane's goroutine produces
//     them, one produce call at a time (at most BatchSize messages and
//     BatchBytes bytes, lingering BatchTimeout);
//   - spooling: new messages are appended to the topic's spool
//     (<SpoolDir>/alerts, <SpoolDir>/audit, <SpoolDir>/decisions) and the
//     lane's goroutine drains the spool into Kafka, acknowledging as Kafka
//     accepts, with exponential backoff (RetryBackoffMin..RetryBackoffMax)
//     while Kafka refuses.
//
// A lane switches to spooling when a produce call fails (after
// MaxAttempts, within WriteTimeout), when Kafka is so slow that more than
// max(QueueSize, 2*BatchSize) messages wait in memory, and at start when
// the previous run left messages in the spool. It switches back when its
// spool is empty. The worker never waits for Kafka, so Kafka being slow or
// down does not change evaluation latency. Each topic has its own spool: a
// flood of decision events cannot crowd alerts out.
//
// # Delivery guarantees
//
// At least once: a message is acknowledged to the spool only after Kafka
// accepted it, and the switch to spooling writes the batch in flight to
// the spool too, so a batch whose fate was unknown may arrive twice.
// Every message carries a UUIDv7 in metadata.uid and in the
// riskauth-event-id header; consumers de-duplicate on it.
//
// Per-key order: one goroutine per topic produces, one call at a time;
// the spool holds the topic's whole unacknowledged tail in order; a lane
// goes back to direct only when the spool is empty and nothing is in
// flight. Keeping the first copy of each uid, a consumer sees each user's
// messages in the order they were published — with one exception, below.
//
// # When the queue is full
//
// The queue fills only when the worker cannot keep up with encoding or
// the disk (never because of Kafka). Publish then neither blocks on a
// channel nor drops: it encodes on the caller's goroutine and hands the
// messages to the lane itself ("caller runs"), and counts
// riskauth_alert_queue_overflow_total. The caller pays the encoding and,
// if the lane is spooling, a buffered file write. The price is order: an
// overflowing message can overtake older messages still in the queue
// (at most QueueSize of them). Consumers that need strict order under
// overload sort a user's messages by time. A growing overflow counter means
// the process is short of CPU or disk, not that Kafka is down.
//
// # When the spool is full
//
// Each spool is bounded by SpoolMaxBytes. When a message does not fit, it
// is dropped — the newest go first, what is spooled is kept, in order —
// counted as riskauth_alert_messages_dropped_total{reason="spool_full"},
// and logged at ERROR at most every 10 seconds per topic with the count.
// The alternatives are worse for a login service: blocking would stall
// sign-ins on Kafka, and dropping the oldest would lose the start of an
// incident. An operator who sees riskauth_alert_spool_bytes approach the
// bound should restore Kafka (the spool drains by itself, in order), or
// raise spool_max_bytes on a larger disk, or turn the decisions topic off
// to protect the alerts spool's disk. Alert on any increase of the dropped
// counter.
//
// # Aggregation
//
// Alerts of the same decisive rule and source (client address, else user)
// within AggregateWindow (default 1m) are folded: the first finding goes
// out at once, the rest become one finding with OCSF count, start_time and
// end_time when the window closes (next alert of the group, a sweep every
// quarter window, or Close). Security events are never folded; the
// decisions topic still carries every decision.
//
// # Shutdown
//
// Close stops taking messages, produces what the queue and the lanes hold
// within its context, spools what is left, and closes the producer and the
// spools. The next start drains the spool before anything new goes direct.
// Messages are lost only if the process dies while they are in memory (up
// to the queue plus the lanes' pending messages).
//
// # Embedded mode
//
// With no brokers, the same messages are appended, one per line, to
// <DataDir>/alerts.jsonl, <DataDir>/audit.jsonl and, when DecisionsTopic
// is set,
// <DataDir>/decisions.jsonl (off by default, like the topic: a decision
// event is a few KiB and the file is never rotated here; use logrotate's
// copytruncate or turn it on for a backtest window). Each batch is one
// write with O_APPEND. Nothing is spooled: a disk that cannot take the
// file would not take a spool either. Write errors (disk full) are
// counted as dropped{reason="file_error"} and logged, never fatal.
//
// # Configuration
//
// See Config; Validate reports every problem at once. Production needs
// Brokers, SpoolDir (or DataDir) on a persistent volume, usually TLS
// (CA/cert/key files) and SASL (plain, scram-sha-256, scram-sha-512), and
// topics created beforehand (the producer does not create them).
// BatchBytes must stay below the brokers' message.max.bytes; a single
// message larger than BatchBytes is dropped (reason too_large) rather than
// left to block a spool forever.
//
// # Metrics
//
// riskauth_alert_messages_produced_total{topic} (acknowledged by Kafka or
// written to the file, drains included), _spooled_total{topic,reason},
// _drained_total{topic}, _dropped_total{topic,reason} (should stay 0),
// riskauth_alert_spool_bytes{topic}, riskauth_alert_queue_length,
// riskauth_alert_queue_overflow_total, riskauth_alert_aggregated_total,
// riskauth_alert_produce_duration_seconds and
// riskauth_alert_kafka_errors_total{topic}. Status reports each topic's
// mode and backlog for /readyz: spooling is a degraded mode, not a
// failure, and must not fail readiness.
package alert
