// Command authload measures riskauth's password sign-in: how close
// successful sign-ins/s come to the raw argon2id limit of the machine, and
// whether a credential-stuffing wave slows legitimate users down. One
// bounded run (about 1.5 minutes with the defaults) prints every figure
// with the command and the machine.
//
//	go run ./cmd/authload [-phase all|sign-in|stuffing] [-duration 20s] [-sign-ins N] [-users 300]
//	                      [-concurrency 8] [-legit-rate 5] [-attack-multiplier 10] [-attack-ips 4]
//	                      [-raw 4s] [-settle 2s] [-blocked 4s] [-spawn] [-seed 1]
//	                      [-argon-memory-kib N] [-argon-time N] [-cpuprofile FILE]
//
// # The server
//
// The server is riskauthd itself, built by internal/daemon on embedded
// defaults: configuration from internal/config with no file, default
// rules, the in-memory velocity store with SQLite profiles, the familiarity
// score, the geo signal on its fixture, the embedded breached list, the
// alert sink on its JSONL spool, the SQLite account store, the mail outbox
// and the argon2id hasher at the default parameters (m=19 MiB, t=2, p=1;
// concurrency GOMAXPROCS, 2 s maximum wait). Two settings differ:
// trusted_proxies = 127.0.0.1, so the load generator can give every client
// its own address in X-Forwarded-For, and the per-IP sign-in rate limit is
// off, so that the attack phases measure the risk engine's defence rather
// than the limiter's 429s. -argon-memory-kib and -argon-time shrink the hash
// (for tests); the data lives in a temporary directory removed afterwards.
//
// By default the server runs in this process, sharing the Go runtime and
// the cores with the load generator; with -spawn it runs in a child
// process (this binary, re-executed), still sharing the cores but with
// its own runtime, and the CPU time reported for blocked attempts is then
// the child's alone (from /proc/PID/task/*/schedstat) rather than the
// whole process's. Either way both sides of each ratio run under the same
// conditions: the raw argon2id limit is measured in the load generator
// while the server idles.
//
// # Traffic
//
// Before anything is measured, -users accounts and as many "victim"
// accounts are created directly in the store (verified address, one
// shared argon2id hash), so registration costs nothing in any phase.
// Every legitimate user has an address of its own (in a /24 of its own),
// a browser user agent and a stable device (descriptor with a cookie id),
// and sends POST /v1/login one-shot with the right password,
// Content-Type: application/json, no Origin or Sec-Fetch-Site (an app, as
// the CSRF guard allows) and Riskauth-Session: bearer. A warm-up signs
// every user in once, so the engine knows each user and device; in the
// default rules nothing then adds risk, and the report shows the decision
// mix (from the server's riskauth_decisions_total) and the answers, where
// only "authenticated" counts as a successful sign-in. Keep each user
// under 30 attempts a minute (the ip-burst rule): the sign-in line prints
// the per-user rate.
//
// Nothing adds risk only while the familiarity score is in its cold start
// (fewer than 1000 successful sign-ins counted). The synthetic users are
// uniform: each signs in as often as the others, from an address the
// geo fixture does not locate, so a known device is 1/-users of all
// sign-ins and, once the model is warm, the score of a user's own usual
// sign-in is about log10(1/users) - 0.7: -3.0 for 200 users, on the
// default unfamiliar-login threshold (a real population of a few hundred
// users would score the same). A fast machine passes 1000 sign-ins within
// seconds and some legitimate sign-ins then step up (the decision mix
// shows it). -sign-ins N ends the sign-in phase after N sign-ins, so that
// what the engine has seen does not depend on the machine's speed; more
// -users lowers the scores.
//
// The attacker sends wrong, common passwords for the victim accounts and
// for addresses that have no account (half each), from -attack-ips
// addresses with HTTP-library user agents and no device data, open loop
// at -attack-multiplier times the measured raw argon2id verifications/s,
// with at most 512 requests outstanding (more are counted as not sent).
// The legitimate users are not on its list: an account tried five times
// in an hour is stepped up by design.
//
// # Phases
//
//	raw argon2id (before)  GOMAXPROCS goroutines call password.Verify in a loop
//	warm-up                every legitimate user signs in once (not measured)
//	sign-in                -concurrency closed-loop workers for -duration (or -sign-ins)
//	raw argon2id (after)   as before; the ratio uses the mean of both
//	A                      the legitimate client alone, open loop at -legit-rate for -duration
//	B                      the attack starts; after -settle the legitimate client runs as in A
//	                       while the attack goes on; argon2id operations (from /metrics)
//	                       beyond the legitimate sign-ins are the attacker's
//	C                      the server idle for -blocked, then the attack alone (its addresses
//	                       now blocked) at the attack rate and then closed loop: CPU per
//	                       blocked attempt, net of the idle CPU, and argon2id operations (0)
//
// -phase sign-in stops after the sign-in phase; -phase stuffing skips it.
// -cpuprofile FILE writes this process's CPU profile of the sign-in phase
// to FILE.sign-in and of the attack-alone phases to FILE.blocked (with the
// in-process server, these include it) and, with -spawn, the server
// child's profile of its whole life to FILE.server.
//
// authload is not a general load-testing tool: it talks only to the
// server it starts on 127.0.0.1, every run is bounded in time and
// requests, and the accounts and passwords are synthetic.
package main
