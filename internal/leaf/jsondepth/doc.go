// Package jsondepth measures how deeply a JSON text nests arrays and
// objects, in one allocation-free pass that recurses nowhere, so that
// every reader of untrusted JSON can refuse an absurdly nested body before
// any recursive validator or parser touches it.
//
// A 60 KB body of 30,000 nested arrays is rejected as malformed anyway,
// but a recursive validator first grows its goroutine's stack to some
// 17 MB, and a parser builds error messages and values level by level
// (4.6 MB) before it refuses: 64 clients sending 20 such bodies took a
// server from 40 MB to 3.15 GB of RSS, which the grown stacks of reused
// goroutines kept. Checked first, the same body costs one pass over its
// bytes.
//
// It is for the readers of the HTTP API's bodies (internal/httpapi/wire),
// of recorded decision events (engine/alert/ocsf, rules/backtest) and of
// riskctl's inputs (explain, alerts tail). The other JSON riskauth reads
// is its own: what it stored in SQLite, PostgreSQL or Redis (flows,
// profiles, pending evaluations), values it has just marshalled
// (scenarios), and the files of its generators and load tools; those
// readers do not check. Rule files are YAML, which it cannot count (plain
// scalars hold brackets): the YAML library bounds their nesting itself
// (rules/yaml_limits_test.go).
//
// It is not a validator: it counts '[' and '{' outside strings and nothing
// else, so a body it passes may still be malformed, and the readers' own
// validators decide that.
package jsondepth
