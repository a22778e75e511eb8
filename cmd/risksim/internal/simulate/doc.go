// Package simulate generates realistic sign-in traffic, replays it through
// a real riskauth engine on a virtual clock and measures detection: the
// true-positive rate against the attacker models of Wiefling et al. (ACM
// TOPS 2022) and waves of credential stuffing and password spraying, and
// the re-authentication burden on legitimate users by login-history size.
// Beside the engine's decision it reports the engine's familiarity.score
// (the Freeman/Wiefling model of engine/familiarity, which no default
// rule reads yet) at a threshold, so that rules and model can be tuned on
// the same traffic.
//
// It is for measuring and tuning rule sets and models (cmd/risksim, the
// numbers in docs/detection.md), never for production traffic or load
// tests (cmd/riskload is that): the runner is sequential so that a seed
// gives byte-identical reports, and every user, device and attacker is
// made up. Places are real when the GeoLite2 cache is present
// (scripts/fetch-data.sh), documentation-range fixtures otherwise.
//
// The pieces: [Atlas] (address pools per country, city and ASN, built
// once from the geo databases), the population and attackers (population.go,
// attack.go, replay.go: all randomness from math/rand/v2 PCGs seeded by
// Config.Seed, one stream per addition so that each leaves the earlier
// draws as they were), the users' email domains and employers (email.go),
// the time-of-day cycle (diurnal.go), [NewEngine] (the one place the engine is wired), [Run]
// (the sequential replay) and [Report] with its renderers (text, JSON,
// HTML with inline SVG charts).
package simulate
