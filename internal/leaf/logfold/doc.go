// Package logfold is a slog.Handler that folds repeated warnings and
// errors: during an outage every request meets the same failing backend,
// and one log line per request (16,018 ERROR lines in 10 s with
// PostgreSQL down, issue 18) buries everything else and costs I/O when
// the service can least afford it.
//
// A record at or above the folding level (Warn by default) whose message
// and distinguishing attributes (backend, kind, signal, route, ...) were
// already logged within the interval (10 s by default) is counted instead
// of written; once the interval is over, the next such record, or Flush,
// writes one summary line: "<message>: 1234 more in the last 10s", with a
// "folded" count. The first occurrence is always written in full, with its
// error. Records below the level pass through untouched.
//
// The clock is injected (Options.Now), so tests fold on a virtual one. It
// is not a sampler for high-volume info logs, and it imports nothing of
// riskauth's.
package logfold
