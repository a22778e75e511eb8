// Package backtest replays recorded decision events through a candidate
// rule set and reports what would change: per-rule hit counts and rates
// (candidate against the recorded run), a before/after decision matrix,
// score histograms and sample events for every changed decision. It
// renders the report as an aligned terminal table, JSON, or a
// self-contained HTML page with inline SVG charts.
//
// Input is JSONL: one OCSF message per line, as engine/alert writes them
// to the decisions topic or the embedded JSONL sink. Authentication
// (class 3002) messages carrying riskauth's feature snapshot are replayed
// with the signal values recorded at the time; other classes (Detection
// Findings in a mixed alerts file) are skipped and counted; malformed
// lines are counted and listed by line number, never fatal.
//
// Run streams: parsing and evaluation happen on GOMAXPROCS workers fed
// through a bounded channel, and nothing is kept per event beyond a
// bounded number of samples, so memory does not grow with the input.
// Results are deterministic for a given input whatever the scheduling:
// counts are sums, and samples and listed problems are the ones with the
// lowest line numbers.
//
// It is not a simulator: features are replayed as recorded, so a
// candidate that would have changed later events' features (velocity
// counters count blocked attempts too, a block prevents the successful
// sign-in that would have made a device known) is judged on the history
// the baseline produced. See docs/backtest.md.
package backtest
