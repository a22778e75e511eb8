// Package webhook delivers account events (authn/secevent: the account
// lifecycle, factor and password changes) to other business systems that
// have no Kafka consumer (issue 20): an HTTP POST per event to each
// endpoint that asked for its type, signed with HMAC-SHA256 over a
// timestamp and the body (so a receiver can refuse forgeries and
// replays), retried with exponential backoff, kept in a disk spool per
// endpoint (engine/alert/spool) so that delivery survives a restart, and
// moved to a dead-letter file after MaxAttempts failures. Per-endpoint
// metrics count deliveries, failures and dead letters.
//
// It is not the SOC's channel (that is the alerts topic) and not a
// message broker: delivery is at least once and in order per endpoint
// (one event at a time; a failing event holds the ones behind it until
// it succeeds or is dead-lettered); receivers de-duplicate by the event
// id.
package webhook
