// Package engine decides about sign-ins and other events: Evaluate runs the
// signals under a deadline, builds the feature set, runs the active rule set
// and returns an explained Decision (passwordless, step_up or block);
// RecordOutcome feeds what happened afterwards back into velocity counters
// and the user's risk profile.
//
// The engine declares what it consumes — Signal, StateStore,
// DeviceIdentifier, Clock, DecisionSink — and the signals/ packages implement
// them. Cheap in-process work (device identification, inline signals such as
// geo lookups, the in-memory state store) runs on the caller's goroutine;
// I/O-bound work (Redis, remote checkers) runs concurrently, each under its
// budget and all under Config.Deadline. Whatever fails or is late is marked
// unavailable, which rules can see, and the decision is raised to
// Config.UnavailableFloor.
//
// A candidate rule set, when the rule source holds one, runs in shadow on
// the same features: its would-be decision goes to Decision.Candidate, to
// riskauth_shadow_divergence_total{source="candidate"} and to decision
// events, never into the answer. The ids of the rules that matched are
// attached to the pending evaluation (PendingAnnotator), so that a later
// fraud/legit label counts against each of them
// (riskauth_rule_feedback_total).
//
// The engine never reads the wall clock directly (it takes a Clock), holds no
// globals, and never stores or logs the password an event may carry.
//
// It is not an HTTP server, a rule compiler (package rules) or a store: those
// are wired together in internal/daemon.
package engine
