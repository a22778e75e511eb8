// Command risksim generates realistic sign-in traffic (legitimate users,
// the attacker models of Wiefling et al., credential stuffing and password
// spraying), replays it through the riskauth engine on a virtual clock and
// reports detection and re-authentication rates, for the rules under test
// and for the familiarity score, as text, JSON and HTML with SVG charts.
//
//	go run ./cmd/risksim -seed 1 -users 20000 -logins 1000000 [-rules FILE] [-geo DIR]
//	                     [-html out.html] [-json out.json] [-familiarity -2] [-q] [-cpuprofile FILE]
//	                     [-diurnal=false] [-email-domains=false]
//
// The same seed, flags, rule file and geo data give the same report; the
// run is bounded and stops by itself. It is for measuring and tuning rule
// sets (docs/detection.md has the command, the figures and what is
// modelled), not a load test (cmd/riskload) and never pointed at a
// running service: it builds its own engine in process.
package main
