// Package ocsf renders riskauth decisions and account security events as
// JSON messages shaped after OCSF 1.3 (Open Cybersecurity Schema Framework),
// for the SOC's Kafka topics and the embedded JSONL sink, and reads decision
// events back so that `riskctl rules backtest` can replay them.
//
// Four message classes come out of it:
//
//   - Authentication (class 3002) for every decision, on riskauth.decisions.
//     Its unmapped.riskauth extension carries the full feature snapshot the
//     rules saw, which is what makes a recorded decision replayable. The
//     audit trail's sign-in and sign-out steps (riskauth.audit) are
//     Authentication events too, with a status and no snapshot (audit.go);
//     ParseDecision refuses them.
//   - Detection Finding (class 2004, is_alert true) for blocks and decisions
//     whose matched rules carry an alert severity, on riskauth.alerts; also
//     for lockouts, failed step-ups and new devices.
//   - Account Change (class 3001) for factor, password and session changes
//     (a single session revoked: on the audit trail only).
//   - Entity Management (class 3004) for the audit trail of rule-set
//     changes (promote, rollback, candidate, hot reload), on
//     riskauth.alerts; docs/rollout.md says why this class.
//
// The encoder is append-style rather than encoding/json over structs: it
// runs on the sink's background goroutine at tens of thousands of messages
// per second, and reflection plus the feature map the velocity namespace
// would otherwise need dominated the cost (see the benchmarks). Reading back
// is rare and uses encoding/json.
//
// What it is not for: delivery. Topics, keys, retries, batching and the disk
// spool belong to engine/alert; this package only turns values into bytes
// (and the decision bytes back into a record). It keeps no state beyond the
// producer description it was built with. docs/alerts.md documents every
// field and docs/schemas/ holds a JSON Schema per message kind.
package ocsf
