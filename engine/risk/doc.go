// Package risk is the vocabulary every layer of riskauth shares: the
// feature set a rule reads (Features and its namespaces, with the one
// table of field offsets that fast readers use, Layout), the decision
// (Action), the alert level (Severity) and the evidence a decision cites.
//
// It imports nothing of riskauth's, so that signals fill features, authn
// branches on decisions and alerts render them without depending on the
// rule compiler (rules) or the engine's pipeline (engine). It is not for
// behaviour: building, scoring and explaining features live in rules and
// engine.
package risk
