// Command riskload measures the throughput and latency of riskauth's risk
// API against a bare fiber JSON echo on the same machine, in one bounded run.
//
//	go run ./cmd/riskload [-duration 10s] [-concurrency 64] [-warmup 2s] [-requests N] [-cpuprofile FILE]
//	                      [-target http://127.0.0.1:8080] [-spawn] [-seed 1] [-rounds N]
//
// It drives two servers one after the other with the same load: first a
// bare fiber app on 127.0.0.1 that echoes each request body back as JSON
// (no decoding: the cheapest JSON endpoint fiber can serve), then
// POST /v1/risk/evaluate of riskauthd itself, built by internal/daemon on
// embedded defaults in a temporary data directory (default rule file,
// in-memory velocity store with SQLite profiles, device identifier,
// familiarity score, geo signal on its embedded fixture, breached check on
// its embedded list, alert sink on its JSONL file, sign-in service, every
// metric; riskauthd's GOGC of 400 for both servers unless GOGC is set),
// or of an already running riskauthd given with -target
// (loopback only; its API key comes from the
// RISKLOAD_API_KEY environment variable, never from a flag, so that it
// stays out of shell history and process lists). Each server gets
// -concurrency keep-alive connections, one per worker, for -warmup then
// -duration (or until -requests answers), and the command prints req/s,
// p50/p99 latency, the risk/echo throughput ratio and a markdown table row
// for docs/benchmarks.md.
//
// One measurement on a shared 2-core machine swings by ±10 %; -rounds N
// repeats the pair N times on the same servers, the order alternating
// (echo first, then risk first), prints each round's ratio and puts the
// medians in the table row (the ratio is the median of the per-round
// ratios, each against the echo measured next to it). -cpuprofile covers
// the first round's risk phase.
//
// Bodies are realistic and varied: a seeded RNG builds a pool of users with
// home addresses and devices (browser descriptors with cookie ids, mobile
// and desktop user agents), Zipf-distributed activity, registrations,
// resets and MFA events, and a small share of traffic from a few attacking
// addresses spraying many accounts, which the default rules block.
//
// # CPU split
//
// By default the servers and the load generator share one process and its
// Go scheduler (GOMAXPROCS = all CPUs): on a 2-core machine that is the same
// situation as wrk and a server sharing the cores, which is how the echo
// baseline of the performance target was measured. Nothing is pinned; both
// phases run under identical conditions, so the ratio compares like with
// like. With -spawn each server runs in a child process of its own (the
// same binary, re-executed), still sharing the cores with the load
// generator through the kernel scheduler rather than the Go one, and with
// its own garbage collector; -server-procs and -client-procs then set
// GOMAXPROCS for the children and for the load generator (0 keeps the
// default). The report states which setup produced the numbers.
//
// riskload is not a general load-testing tool: it only talks to loopback
// addresses, and every run is bounded in time and size.
package main
