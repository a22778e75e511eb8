// Package rules turns analyst-written YAML rule files into compiled rule
// sets and evaluates them against a feature set.
//
// A file is decoded strictly into spec types (unknown keys are errors),
// every `when` expression is compiled once with expr against a typed
// environment (Schema: the fixed feature namespaces plus one field per
// configured velocity counter), and every problem is reported at once with
// file:line:col. The compiled RuleSet is immutable and safe for concurrent
// use; Source holds the active set and hot-reloads it, never replacing a
// valid set with an invalid file.
//
// Rules add scores, may force a decision, raise alerts, run in shadow mode,
// and carry inline test cases (RunCases). Evaluation never panics: a rule
// that fails at run time counts as not matched and is reported.
//
// The package knows nothing about where features come from (signals, the
// engine) or what happens with a decision.
package rules
