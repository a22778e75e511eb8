// Package familiarity is the statistical risk model of Freeman et al. as
// evaluated by Wiefling et al.: it scores how unfamiliar a login looks for
// a user by comparing, feature by feature, how common the login's values
// are globally with how common they are in that user's history, and says
// which features made the difference.
//
// It is the model only: [Features] and an [Extractor] from raw inputs, the
// per-user [History] (bounded, decayed, a compact binary encoding stored
// with the user profile), the global frequencies [Global] (count-min
// sketches behind the one-call [GlobalReader] interface) and the [Model]
// that scores and observes. It does no I/O, reads no clock and keeps no
// per-user state of its own. It is not the engine signal (wiring,
// deadlines, the rule field namespace and storage are the engine's and the
// stores' job, see "Engine integration" below), and not a bot or
// anomaly detector for unauthenticated traffic: it needs a claimed user.
//
// # Sources
//
//   - D. M. Freeman, S. Jain, M. Dürmuth, B. Biggio, G. Giacinto: "Who Are
//     You? A Statistical Approach to Measuring User Authenticity", NDSS
//     2016, doi:10.14722/ndss.2016.23240. The model (eq. 7 in the paper's
//     numbering as cited by the reference implementation) and its
//     smoothing of unseen values.
//   - S. Wiefling, P. R. Jørgensen, S. Thunem, L. Lo Iacono: "Pump Up
//     Password Security! Evaluating and Enhancing Risk-Based
//     Authentication on a Real-World Large-Scale Online Service", ACM TOPS
//     26(1), 2022, doi:10.1145/3546069: the evaluation on 3.3 million
//     users and 31.3 million logins, the IP and user-agent feature
//     hierarchies and the four attacker models.
//   - Wiefling's reference implementation of Freeman's algorithm, the one
//     used for that paper: github.com/das-group/rba-algorithm,
//     rba-algorithm.ipynb (MIT). The formulas below follow it: its
//     freeman_rba_score, get_likelihood (smoothing), get_unseen_values
//     (the hierarchy), its subfeature weights and its edge case for
//     values never seen by the user. The paper's full text was not
//     reachable from this project's reference store (only its abstract),
//     so where the notebook and the paper might differ, this package
//     follows the notebook, and it says where it departs from both.
//
// # The model
//
// For a login with feature values x by the claimed user u, the risk score
// is the likelihood ratio of "attacker" (A) against "legitimate user" (L):
//
//	S_u(x) = p(u|A)/p(u|L) · Π_groups P_g(x_G) / P_u(x_G)
//
// where the attacker's value distribution is taken to be the global one
// (an attacker logs in from where everybody logs in), p(u|A) = 1/|users|
// (attackers pick victims uniformly) and p(u|L) = logins_u / N (legitimate
// logins come from active users). Features form groups, and a group's
// probability mixes the levels of its hierarchy with weights w (Wiefling):
//
//	P_g(x_G) = Σ_j w_j · p_g(x_j),   P_u(x_G) = Σ_j w_j · p_u(x_j)
//
// The groups and default weights ([DefaultWeights]):
//
//	network  ip 0.6, asn 0.2, city 0.1, country 0.1   (Wiefling: ip 0.6, asn 0.3, country 0.1)
//	device   device_id 1                              (riskauth's device id, a factor of its own)
//	client   user_agent 0.5387, browser 0.2680, os 0.1882, device_type 0.0051   (Wiefling's)
//
// Result.Score is log10 S: higher is riskier. 0 means no evidence either
// way, +1 "ten times likelier an attacker than this user", -3 "a thousand
// times likelier this user". The log form is what rules want: it adds up
// over groups, its contributions add up per feature, and thresholds are
// orders of magnitude. (A 0..1 mapping would need the prior odds of an
// attack, which nobody knows; the simulator tunes thresholds on the log
// scale instead.)
//
// # Smoothing
//
// User side, for level j of a group, with n the user's decayed login count,
// c(v) the decayed weight of value v in the history, k_j the number of
// values kept at level j, and U_j the estimated number of values the user
// has not used yet:
//
//	U_j   = 1 + Σ_{i less specific than j in the group} k_i
//	p_u(v) = (c(v) + 1) / (n + U_j + k_j)        (c(v) = 0 for an unseen v)
//
// U_j is Freeman's hierarchy as Wiefling implements it (get_unseen_values):
// a new IP is likely in one of the user's ASNs, a new ASN in one of the
// user's cities, and so on, so a user with many ASNs and countries expects
// new IPs more readily. The notebook gives a seen value c/(n+U) and an
// unseen one 1/(n+U); this package gives every value, seen or not, the
// unseen values' pseudo-count of one (hence the +1 and the +k_j). Two
// reasons: with decay, weights fall below 1 and the notebook's form would
// make a value last used a year ago less likely than a value never used;
// and with it a value seen once is twice as likely as a new one, instead of
// equally likely, so the model learns from the first logins.
//
// Global side, with N the number of logins counted and ĉ the sketch's
// estimate: p_g(v) = max(ĉ(v), 1) / (N + 1). The notebook smooths only the
// first level globally, with the global distinct counts as U; a sketch
// cannot count distinct values and with millions of logins U/N is
// negligible, so U = 1.
//
// Novelty (the notebook's edge case): when the user has used none of a
// group's values, smoothing compares two tiny probabilities and a rare
// value would look as unlikely for an attacker as for the user. The group's
// ratio is then at least [Config].NoveltyFactor (default 4, the notebook's
// value): each level's user probability is set to its global probability
// divided by the factor. Hence an unknown device is worth exactly log10 4 =
// +0.60, and so is a network that shares nothing with the user's history.
//
// # Per-feature contributions
//
// Each [Contribution] carries the value, whether the user has used it and
// its decayed weight, the global count, p_g, p_u and a share of the score
// in log10 units. A group's log ratio is split exactly among its levels
// with the logarithmic mean (LMDI: log(Σa/Σb) = Σ_j (a_j − b_j)/L(Σa, Σb),
// L(a, b) = (a − b)/ln(a/b)), so that
//
//	Score = Prior + Σ_features Contribution
//
// and each share has the sign of p_g − p_u for its value: positive when the
// value is likelier for an attacker than for this user. [Result.Ranked]
// orders them for the evidence.
//
// # Cold start
//
// With no history (Logins = 0) there is no model: p(u|L) is zero and every
// user probability is the same guess. Score is then 0 ("no evidence"), the
// contributions are zero (values and global counts are still reported)
// and ColdStart is set. ColdStart is also set, with a computed score, while
// the user has fewer than [Config].MinLogins logins (default 3) or the
// global counts fewer than [Config].MinGlobalLogins (default 1000): rules
// should treat the score as weak then and lean on other signals
// (the `familiarity.cold_start` rule field).
//
// # Bounded, decayed histories
//
// A [History] keeps, per feature, at most [Config].Cap values (default 16)
// as 64-bit xxhash hashes with float32 weights — no IP or user agent in
// clear in the profile — plus the decayed and the raw login counts. Before
// each update (and when scoring) weights decay by 2^(−Δt/HalfLife)
// (default half-life 90 days: a login a year ago weighs 1/16); values whose
// weight falls below [Config].MinWeight (0.05, about 4.3 half-lives for a
// single login) are dropped.
//
// A full feature evicts its least weighted value, and the new value starts
// at 1. The error this causes is one-sided: a kept weight is never above
// the truth (an evicted value is forgotten, never inherited, unlike
// Space-Saving, which would let an attacker's first value look familiar),
// and a value is only evicted while it is the lightest of Cap, so at most
// n/Cap of the user's decayed logins: a value used for more than 1/Cap of
// a user's recent logins is never forgotten. The unseen counts U are
// computed from kept values, so a user with more than Cap distinct ASNs,
// cities or countries gets U (and so the smoothing of new values) capped
// too. Hash collisions (2^-64 per pair) could only make an unseen value
// look seen; at 16 values per feature they are negligible.
//
// Encoding (MarshalBinary / AppendBinary, version 1): 17 bytes for an empty
// history, 12 per kept value: 261 bytes for a typical user (40 logins: home
// and work networks, laptop and phone, one browser upgrade), 1750 bytes
// for a full one (16 values in each of 9 features), 35 + 108·Cap at most
// (Cap ≤ 127). Decoding treats bytes as untrusted: malformed input is an error
// wrapping [ErrCorrupt] (fuzzed by FuzzUnmarshalHistory), with allocation
// bounded by the input's length.
//
// # Global frequencies
//
// [Global] is one count-min sketch per feature (Cormode and Muthukrishnan,
// 2005): Depth rows of Width saturating 32-bit counters, indexed by
// Kirsch–Mitzenmacher double hashing of the value's xxhash64 (h1 + r·h2,
// h2 odd), plus the login and user totals. An estimate is never below the
// true count and exceeds it by more than ε·N with probability at most δ,
// ε = e/Width, δ = e^−Depth. Default Width 2^15, Depth 4: ε = 8.3e-5,
// δ = 1.8%, 9·4·2^15·4 bytes = 4.5 MiB. Overestimates only raise p_g, so
// they can only make a login look riskier, never more familiar (and an
// attacker flooding the sketch with colliding values can only do that). On
// a synthetic Zipf stream of 100,000 logins (TestCountMinError, Width 2^10)
// no estimate exceeded the bound of 265 (max error 199).
//
// Add takes no lock (atomic counters); Merge adds sketches of the same size
// (count-min is linear) and MarshalBinary/UnmarshalBinary snapshot one, so
// per-instance sketches can be combined. [GlobalConfig.Columns] exports
// the index scheme, so that a sketch kept elsewhere counts the same cells:
// the Redis state store (signals/velocity) keeps one in Redis, shared by
// every instance, with the same size and saturating counters. The scorer
// reads global numbers only through [GlobalReader]'s single Lookup per
// login, which a remote store answers in one round trip; a [Counts]
// fetched ahead (with the profile, in the same pipeline) is itself a
// GlobalReader.
//
// # Features and the user-agent parser
//
// [Extractor] normalises raw inputs: the IP in canonical form (IPv4-mapped
// addresses unmapped, IPv6 reduced to its /64, since privacy extensions
// change the interface id daily), "AS<number>", the country upper-cased, the
// city qualified by country ("DE/Berlin"), the user agent trimmed and cut to
// 512 bytes. Browser, OS family and device type come from
// github.com/medama-io/go-useragent, the parser signals/device already uses
// (zero-allocation trie, maintained), with the same labels: both read them
// through signals/device/ualabel, a leaf package (so that this package does
// not depend on the engine and the engine can use it), which also caches
// them: in an evaluation the device identifier has just parsed the same user
// agent, so extraction is a cache lookup (ualabel.ParseAgain, which does not
// count as a second use for the cache's eviction). The parser reports the
// browser version (the browser feature is name and major version, "Chrome
// 131": minor versions change every few days) but not the OS version, so
// ualabel reads the OS version with one token scan per family (Windows NT
// x.y, macOS major.minor, iOS, Android and ChromeOS major); a parser with OS
// versions (e.g. ua-parser/uap-go) would need a new module.
//
// # Choosing the device id as its own group
//
// In Wiefling's grouping a value unique to one user (an IP, a device id)
// carries little weight because its global probability is as tiny as that
// of a value nobody has used. The device id is the one value an attacker
// does not get with the password (unless the id is derived from a
// descriptor the attacker replays, see signals/device), so it is a factor
// of its own. On a toy population (3,000 users, 75,000 logins, half-year,
// seeded; not in the repository, the simulator of issue 8 replaces it) the
// device id inside the client group caught only 65% of VPN attackers (the
// victim's country) at the score that 10% of legitimate logins of users
// with ≥ 10 logins exceed; as a group of its own, 100% of naive, VPN,
// targeted and very targeted attackers scored above that threshold, the
// legitimate 95th percentile being -4.1 and the very targeted attackers'
// 5th percentile -2.4. The cost: a known device weighs log10(n/N), which
// grows with the global login count, so thresholds must be tuned on
// realistic volumes, and a new device alone (+0.6) is a step-up for users
// whose other features are not strongly familiar.
//
// # Engine integration
//
// The engine (engine/familiarity.go) does this per login with a claimed
// user:
//
//  1. before the state load, Extract the features from the event and the
//     inline geo result and keep them with the pending evaluation;
//  2. after it, decode the History that came with the user profile (one
//     round trip: the Redis Load pipeline, or the embedded profile row),
//     Score it against its GlobalReader (an in-process Global, or Counts
//     a store read with the profile) and expose `familiarity.available`,
//     `.score`, `.cold_start`, `.logins`, `.prior` and `.top`; reasons of
//     rules that read them list Result.Ranked();
//  3. after a successful sign-in the state store Observes the login into
//     the profile's History in its read-modify-write of the profile
//     (engine.ApplyOutcome), and the features are added to the global
//     counts (Global.Add, and Global.AddUser on a user's first observed
//     login): by the engine, or by a store that keeps the counts itself
//     (the Redis one).
//
// Benchmarks (BenchmarkScore, BenchmarkObserve, BenchmarkDecode on the
// shared 2-core development machine, noisy): a score 1–1.7 µs with no
// allocation, an observation about 2 µs with none, decoding a typical
// history 1.2–1.5 µs and a full one 5–10 µs with one allocation, counting
// a login in the default sketch 0.5–1.6 µs with none.
package familiarity
