// Package standard assembles the standard production risk engine from a
// configuration: the rule source and its schema, the velocity and profile
// store (in memory with SQLite profiles, or Redis), the device identifier
// with the user-agent label cache it shares with the familiarity scorer,
// one familiarity model for the engine and the store with the global
// counts and their snapshot, the geo signal, the breached-password chain,
// and the metrics, all wired as riskauthd runs them.
//
// It exists so that the engine is built in one place. riskauthd
// (internal/daemon), the rule-test harness (riskctl rules test|explain)
// and the simulator (risksim) build it here, and so can a program that
// wants the exact production engine on a virtual clock (WithClock) or a
// Go service that embeds the engine in-process instead of calling
// riskauthd's API. Its Config has riskauthd's YAML keys, so such a
// service reads the same configuration sections.
//
// Lifecycle: New builds (and on error closes what it opened), Start runs
// the rule file watch, the geo refresh, the periodic familiarity
// snapshot and, with Redis, the sharing of rule set changes with the other
// instances (rulesync.go) bound to a context, Close releases everything in
// reverse order (writing the snapshot a last time). Throw-away engines
// (rule tests, replays) do not call Start, so they never touch the shared
// rule sets.
//
// It sits above engine and the signals: engine must never import it (the
// engine declares the interfaces; the signals implement them; this
// package only plugs them together). It is not for sign-in, the HTTP API,
// the alert sink or API keys: those are riskauthd's (internal/daemon),
// and the caller hands the sink in (WithDecisionSink). It reads no
// environment variables and no file but the ones the configuration names
// and its own files in Config.DataDir; internal/config maps RISKAUTH_*
// variables onto Config. Engines that are deliberately not the production
// one (the backtest fixture, with no familiarity model and a breach
// corpus it switches off) build engine.New themselves.
package standard
