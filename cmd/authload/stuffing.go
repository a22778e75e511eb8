package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/riskauth/riskauth/cmd/internal/latency"
	"github.com/riskauth/riskauth/cmd/internal/loadgen"
)

// stuffing measures the legitimate client alone (phase A), then with the
// attack running (phase B), then the attack alone (CPU per blocked attempt).
func stuffing(ctx context.Context, cfg config, out io.Writer, srv *server, legit *sender, tr traffic, next *atomic.Int64, res *results) error {
	pickLegit := func(int64) *client { return &tr.legit[(next.Add(1)-1)%int64(len(tr.legit))] }
	nLegit := int(cfg.legitRate * cfg.duration.Seconds())
	nLegit = max(nLegit, 1)

	// Phase A: the legitimate client alone.
	ma0, err := legit.scrape()
	if err != nil {
		return err
	}
	res.legitAlone = &tally{}
	openLoop(ctx, legit, cfg.legitRate, nLegit, 64, pickLegit, res.legitAlone)
	ma1, err := legit.scrape()
	if err != nil {
		return err
	}
	a := res.legitAlone
	fmt.Fprintf(out, "%-28s %d sign-ins at %.1f/s: p50 %s p99 %s max %s; answers: %s; decisions: %s\n",
		"A: legitimate alone", a.total(), cfg.legitRate, latency.Format(a.lat.Quantile(0.5)), latency.Format(a.lat.Quantile(0.99)),
		latency.Format(a.lat.Max()), a.mix(), ma1.minus(ma0).decisionMix())

	// Phase B: the attack starts, settles, and the legitimate client is
	// measured while it goes on.
	capacity := res.rawBefore
	res.attackRate = cfg.attackMultiplier * capacity
	if res.attackRate > maxRate {
		res.attackRate = maxRate
	}
	attacker := newSender(srv.addr, maxInFlight)
	defer attacker.hc.CloseIdleConnections()
	var ai atomic.Int64
	pickAttack := func(int64) *client { return &tr.attackers[(ai.Add(1)-1)%int64(len(tr.attackers))] }
	nAttack := int(res.attackRate * (cfg.settle + cfg.duration).Seconds())
	res.attack = &tally{}
	cpuB0 := cpuTime(srv.pid)
	attackDone := make(chan int64, 1)
	go func() {
		attackDone <- openLoop(ctx, attacker, res.attackRate, nAttack, maxInFlight, pickAttack, res.attack)
	}()
	select {
	case <-time.After(cfg.settle):
	case <-ctx.Done():
	}
	mb1, err := legit.scrape()
	if err != nil {
		return err
	}
	res.legitB = &tally{}
	openLoop(ctx, legit, cfg.legitRate, nLegit, 64, pickLegit, res.legitB)
	skipped := <-attackDone
	mb2, err := legit.scrape()
	if err != nil {
		return err
	}
	cpuB := cpuTime(srv.pid) - cpuB0
	b := res.legitB
	settleHashes := mb1.minus(ma1).hashes
	windowHashes := mb2.minus(mb1).hashes - float64(b.total())
	res.attackHashes = settleHashes + windowHashes
	fmt.Fprintf(out, "%-28s %d sign-ins at %.1f/s: p50 %s p99 %s max %s; answers: %s\n",
		"B: legitimate under attack", b.total(), cfg.legitRate, latency.Format(b.lat.Quantile(0.5)), latency.Format(b.lat.Quantile(0.99)),
		latency.Format(b.lat.Max()), b.mix())
	at := res.attack
	fmt.Fprintf(out, "%-28s %d attempts at %.0f/s (%g x raw %.1f/s) from %d IPs over %s (%s settle + %s), %d not sent (generator at %d in flight); answers: %s; p50 %s p99 %s\n",
		"B: attacker", at.total(), res.attackRate, cfg.attackMultiplier, capacity, cfg.attackIPs, cfg.settle+cfg.duration, cfg.settle,
		cfg.duration, skipped, maxInFlight, at.mix(), latency.Format(at.lat.Quantile(0.5)), latency.Format(at.lat.Quantile(0.99)))
	fmt.Fprintf(out, "%-28s attacker attempts hashed: %.0f during the settle, %.0f during the measured window (argon2id ops minus legitimate sign-ins); all decisions: %s; %s CPU over phase B\n",
		"B: server", settleHashes, windowHashes, mb2.minus(ma1).decisionMix(), latency.Format(cpuB))

	// The server idle, then the attack alone, now that its addresses are
	// blocked: CPU per blocked attempt, net of what the server spends
	// idle in the same time.
	idle0 := cpuTime(srv.pid)
	select {
	case <-time.After(cfg.blocked):
	case <-ctx.Done():
		return ctx.Err()
	}
	idle := cpuTime(srv.pid) - idle0
	nBlocked := int(res.attackRate * cfg.blocked.Seconds())
	res.blockedOnly = &tally{}
	mc0, err := legit.scrape()
	if err != nil {
		return err
	}
	stopProfile := func() {}
	if cfg.cpuProfile != "" {
		if stopProfile, err = loadgen.StartCPUProfile(cfg.cpuProfile + ".blocked"); err != nil {
			return err
		}
	}
	cpuC0 := cpuTime(srv.pid)
	openLoop(ctx, attacker, res.attackRate, nBlocked, maxInFlight, pickAttack, res.blockedOnly)
	cpuC := cpuTime(srv.pid) - cpuC0
	mc1, err := legit.scrape()
	if err != nil {
		return err
	}
	c := res.blockedOnly
	res.blockedHashes = mc1.minus(mc0).hashes
	if c.total() > 0 {
		res.cpuPerBlocked = max(cpuC-idle, 0) / time.Duration(c.total())
	}
	whose := cpuWhose(srv.pid)
	fmt.Fprintf(out, "%-28s %d attempts in %s; answers: %s; decisions: %s; argon2id ops %.0f; CPU %s minus %s idle = %s per attempt (%s)\n",
		"C: attack alone (blocked)", c.total(), cfg.blocked, c.mix(), mc1.minus(mc0).decisionMix(), res.blockedHashes,
		latency.Format(cpuC), latency.Format(idle), latency.Format(res.cpuPerBlocked), whose)

	// The baseline at the same rate: GET /healthz, a request that does
	// nothing, so the wake-up cost of a lone request can be told apart
	// from the sign-in's own.
	probe := &sender{hc: attacker.hc, url: strings.TrimSuffix(attacker.url, "/v1/login") + "/healthz", probe: true}
	pt := &tally{}
	cpuP0 := cpuTime(srv.pid)
	openLoop(ctx, probe, res.attackRate, nBlocked, maxInFlight, pickAttack, pt)
	cpuP := cpuTime(srv.pid) - cpuP0
	if pt.total() > 0 {
		res.cpuPerProbe = max(cpuP-idle, 0) / time.Duration(pt.total())
	}
	fmt.Fprintf(out, "%-28s %d requests in %s; CPU %s minus %s idle = %s per request (%s)\n",
		"C: GET /healthz, same rate", pt.total(), cfg.blocked, latency.Format(cpuP), latency.Format(idle), latency.Format(res.cpuPerProbe), whose)

	// The attack alone again, closed loop with as many connections as the
	// sign-in phase has workers times two: the server saturated with
	// blocked attempts, their marginal cost.
	ms0, err := legit.scrape()
	if err != nil {
		return err
	}
	cpuS0 := cpuTime(srv.pid)
	sat, satEl := closedLoop(ctx, attacker, pickAttack, 2*cfg.concurrency, cfg.blocked, 0)
	cpuS := cpuTime(srv.pid) - cpuS0
	stopProfile()
	ms1, err := legit.scrape()
	if err != nil {
		return err
	}
	res.saturated = sat
	res.saturatedHashes = ms1.minus(ms0).hashes
	if sat.total() > 0 {
		res.cpuPerBlockedSat = max(cpuS-idle, 0) / time.Duration(sat.total())
	}
	fmt.Fprintf(out, "%-28s %d attempts in %s = %.0f/s, %d connections; p50 %s p99 %s; answers: %s; decisions: %s; argon2id ops %.0f; CPU %s minus %s idle = %s per attempt (%s)\n",
		"C: attack alone, saturating", sat.total(), satEl.Round(time.Millisecond), float64(sat.total())/satEl.Seconds(), 2*cfg.concurrency,
		latency.Format(sat.lat.Quantile(0.5)), latency.Format(sat.lat.Quantile(0.99)), sat.mix(), ms1.minus(ms0).decisionMix(), res.saturatedHashes,
		latency.Format(cpuS), latency.Format(idle), latency.Format(res.cpuPerBlockedSat), whose)

	pa, pb := a.lat.Quantile(0.99), b.lat.Quantile(0.99)
	ratio := float64(pb) / float64(pa)
	fmt.Fprintf(out, "\nlegitimate p99 under attack / alone: %s / %s = %.2f; target <= 2: %s\n", latency.Format(pb), latency.Format(pa), ratio, verdict(ratio <= 2))
	noHash := res.blockedHashes == 0 && res.saturatedHashes == 0
	over := max(res.cpuPerBlocked-res.cpuPerProbe, 0)
	fmt.Fprintf(out, "CPU per blocked attempt: %s at the attack rate (%s over a GET /healthz at that rate), %s saturated; argon2id ops %.0f; target <= 100µs and no hash: %s over the baseline, %s saturated\n",
		latency.Format(res.cpuPerBlocked), latency.Format(over), latency.Format(res.cpuPerBlockedSat), res.blockedHashes+res.saturatedHashes,
		verdict(over <= 100*time.Microsecond && noHash), verdict(res.cpuPerBlockedSat <= 100*time.Microsecond && noHash))
	return nil
}
