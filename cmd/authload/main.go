package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/cmd/internal/latency"
	"github.com/riskauth/riskauth/cmd/internal/loadgen"
	"github.com/riskauth/riskauth/internal/daemon"
)

// Bounds on the flags: a run always ends by itself, and small.
const (
	maxDuration    = 5 * time.Minute
	maxUsers       = 100_000
	maxConcurrency = 256
	maxRate        = 20_000 // requests/s of any sender
	maxInFlight    = 512    // attack requests outstanding at once
)

// Phases.
const (
	phaseSignIn   = "sign-in"
	phaseStuffing = "stuffing"
	phaseAll      = "all"
)

type config struct {
	phase            string
	duration         time.Duration // measured time of each load phase
	raw              time.Duration // each raw argon2id measurement
	settle           time.Duration // attack time before the legitimate client is measured
	blocked          time.Duration // attack-only time measuring CPU per blocked attempt
	users            int
	concurrency      int
	legitRate        float64
	attackMultiplier float64
	attackIPs        int
	spawn            bool
	seed             uint64
	memoryKiB        uint32
	argonTime        uint32
	cpuProfile       string
}

func main() {
	// riskauthd's GC setting, for the server under test and its baseline alike.
	daemon.SetDefaultGC()
	if len(os.Args) == 2 && os.Args[1] == "-serve-child" {
		os.Exit(serveChild())
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "authload:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "authload:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var cfg config
	var mem, tm uint
	fs := flag.NewFlagSet("authload", flag.ContinueOnError)
	fs.StringVar(&cfg.phase, "phase", phaseAll, "what to measure: sign-in, stuffing or all")
	fs.DurationVar(&cfg.duration, "duration", 20*time.Second, "measured time of each load phase (sign-in; legitimate alone; under attack)")
	fs.DurationVar(&cfg.raw, "raw", 4*time.Second, "time of each raw argon2id measurement (before and after the sign-in phase)")
	fs.DurationVar(&cfg.settle, "settle", 2*time.Second, "attack time before the legitimate client's latency is measured under attack")
	fs.DurationVar(&cfg.blocked, "blocked", 4*time.Second, "attack-only time after the stuffing phase, measuring server CPU per blocked attempt")
	fs.IntVar(&cfg.users, "users", 300, "legitimate accounts (as many victim accounts are created for the attacker)")
	fs.IntVar(&cfg.concurrency, "concurrency", 8, "closed-loop sign-in workers (keep-alive connections) of the sign-in phase")
	fs.Float64Var(&cfg.legitRate, "legit-rate", 5, "legitimate sign-ins/s of the stuffing phase (open loop)")
	fs.Float64Var(&cfg.attackMultiplier, "attack-multiplier", 10, "attack rate as a multiple of the measured raw argon2id verifications/s")
	fs.IntVar(&cfg.attackIPs, "attack-ips", 4, "attacking addresses")
	fs.BoolVar(&cfg.spawn, "spawn", false, "run the server in a child process (exact server CPU) instead of in this process")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the traffic generator")
	fs.UintVar(&mem, "argon-memory-kib", 0, "argon2id memory of the server in KiB (0: the server default, 19456)")
	fs.UintVar(&tm, "argon-time", 0, "argon2id passes of the server (0: the server default, 2)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write CPU profiles of this process: the sign-in phase to FILE.sign-in, the attack-alone phases to FILE.blocked; with -spawn also the server child's whole life to FILE.server")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.memoryKiB, cfg.argonTime = uint32(min(mem, 1<<22)), uint32(min(tm, 100))
	phaseOK := cfg.phase == phaseSignIn || cfg.phase == phaseStuffing || cfg.phase == phaseAll
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	case !phaseOK:
		return cfg, fmt.Errorf("-phase %q: want sign-in, stuffing or all", cfg.phase)
	case cfg.duration <= 0 || cfg.duration > maxDuration:
		return cfg, fmt.Errorf("-duration %s: want more than 0 and at most %s", cfg.duration, maxDuration)
	case cfg.raw <= 0 || cfg.raw > maxDuration:
		return cfg, fmt.Errorf("-raw %s: want more than 0 and at most %s", cfg.raw, maxDuration)
	case cfg.settle < 0 || cfg.settle > maxDuration:
		return cfg, fmt.Errorf("-settle %s: want 0 to %s", cfg.settle, maxDuration)
	case cfg.blocked <= 0 || cfg.blocked > maxDuration:
		return cfg, fmt.Errorf("-blocked %s: want more than 0 and at most %s", cfg.blocked, maxDuration)
	case cfg.users < 1 || cfg.users > maxUsers:
		return cfg, fmt.Errorf("-users %d: want 1 to %d", cfg.users, maxUsers)
	case cfg.concurrency < 1 || cfg.concurrency > maxConcurrency:
		return cfg, fmt.Errorf("-concurrency %d: want 1 to %d", cfg.concurrency, maxConcurrency)
	case !(cfg.legitRate > 0 && cfg.legitRate <= maxRate):
		return cfg, fmt.Errorf("-legit-rate %v: want more than 0 and at most %d", cfg.legitRate, maxRate)
	case !(cfg.attackMultiplier > 0 && cfg.attackMultiplier <= 1000):
		return cfg, fmt.Errorf("-attack-multiplier %v: want more than 0 and at most 1000", cfg.attackMultiplier)
	case cfg.attackIPs < 1 || cfg.attackIPs > 256:
		return cfg, fmt.Errorf("-attack-ips %d: want 1 to 256", cfg.attackIPs)
	case mem != 0 && mem < 8:
		return cfg, errors.New("-argon-memory-kib: want 0 or at least 8")
	}
	return cfg, nil
}

// outcome classifies one answer of POST /v1/login.
type outcome int

const (
	outAuthenticated outcome = iota // 200, a session
	outStepUp                       // 200, second_factor_required
	outFailed                       // 401 login_failed
	outBusy                         // 503 busy (hasher queue)
	outOther                        // anything else
	outError                        // transport error
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"authenticated", "step_up", "login_failed", "busy", "other", "error"}

// tally counts the answers of one sender in one phase.
type tally struct {
	mu        sync.Mutex
	n         [numOutcomes]int64
	lat       latency.Hist // every answer
	okLat     latency.Hist // authenticated answers
	firstBody string
}

func (t *tally) add(o outcome, d time.Duration, status int, body []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n[o]++
	t.lat.Record(d)
	if o == outAuthenticated {
		t.okLat.Record(d)
	}
	if (o == outOther || o == outError) && t.firstBody == "" {
		t.firstBody = fmt.Sprintf("%d %.200s", status, body)
	}
}

func (t *tally) total() int64 {
	var s int64
	for _, n := range t.n {
		s += n
	}
	return s
}

func (t *tally) mix() string {
	var parts []string
	for i, n := range t.n {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", outcomeNames[i], n))
		}
	}
	if t.firstBody != "" {
		parts = append(parts, "first unexpected: "+t.firstBody)
	}
	return strings.Join(parts, ", ")
}

func classify(err error, status int, body []byte) outcome {
	switch {
	case err != nil:
		return outError
	case status == 200 && bytes.Contains(body, []byte(`"status":"authenticated"`)):
		return outAuthenticated
	case status == 200 && bytes.Contains(body, []byte(`"status":"second_factor_required"`)):
		return outStepUp
	case status == 401 && bytes.Contains(body, []byte(`"login_failed"`)):
		return outFailed
	case status == 503:
		return outBusy
	}
	return outOther
}

// sender posts sign-ins to one server.
type sender struct {
	hc  *fasthttp.HostClient
	url string
	// probe sends GET url instead of a sign-in: the baseline of a request
	// that does nothing, through the same server and at the same rate.
	probe bool
}

func newSender(addr string, conns int) *sender {
	return &sender{url: "http://" + addr + "/v1/login", hc: &fasthttp.HostClient{
		Addr: addr, MaxConns: conns, MaxConnWaitTimeout: 30 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 10 * time.Second, MaxIdleConnDuration: time.Minute,
		NoDefaultUserAgentHeader: true,
	}}
}

// login sends one one-shot sign-in as c (address through X-Forwarded-For,
// the trusted proxy being the loopback connection), asking for a bearer
// token, and records the answer in t with its latency since from.
func (s *sender) login(c *client, from time.Time, t *tally) outcome {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(s.url)
	if s.probe {
		req.Header.SetMethod(fasthttp.MethodGet)
		err := s.hc.Do(req, resp)
		if t != nil {
			t.add(classify(err, resp.StatusCode(), resp.Body()), time.Since(from), resp.StatusCode(), resp.Body())
		}
		return outOther
	}
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("X-Forwarded-For", c.ip)
	req.Header.Set("Riskauth-Session", "bearer")
	req.Header.SetUserAgent(c.ua)
	req.SetBodyRaw(c.body)
	err := s.hc.Do(req, resp)
	d := time.Since(from)
	o := classify(err, resp.StatusCode(), resp.Body())
	if t != nil {
		body := resp.Body()
		if err != nil {
			body = []byte(err.Error())
		}
		t.add(o, d, resp.StatusCode(), body)
	}
	return o
}

// scrape reads the server's /metrics: the argon2id operations (every op:
// verify, dummy, hash) and the engine's decisions by decision.
type scrape struct {
	hashes    float64
	decisions map[string]float64
}

func (s *sender) scrape() (scrape, error) {
	out := scrape{decisions: map[string]float64{}}
	status, body, err := s.hc.Get(nil, strings.TrimSuffix(s.url, "/v1/login")+"/metrics")
	if err != nil || status != 200 {
		return out, fmt.Errorf("GET /metrics: %d %v", status, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, "riskauth_password_hash_duration_seconds_count"):
			out.hashes += v
		case strings.HasPrefix(name, `riskauth_decisions_total{decision="`):
			d := strings.TrimSuffix(strings.TrimPrefix(name, `riskauth_decisions_total{decision="`), `"}`)
			out.decisions[d] += v
		}
	}
	return out, sc.Err()
}

func (a scrape) minus(b scrape) scrape {
	d := scrape{hashes: a.hashes - b.hashes, decisions: map[string]float64{}}
	for k, v := range a.decisions {
		if v-b.decisions[k] != 0 {
			d.decisions[k] = v - b.decisions[k]
		}
	}
	return d
}

func (a scrape) decisionMix() string {
	var parts []string
	for _, k := range []string{"passwordless", "step_up", "block"} {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, a.decisions[k]))
	}
	return strings.Join(parts, ", ")
}

// cpuTime is the CPU time used so far by the server: the child's with
// -spawn (the sum of its threads' run time from /proc), else this whole
// process (server and load generator together).
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			return 0
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum int64
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if fields := strings.Fields(string(b)); len(fields) > 0 {
			n, _ := strconv.ParseInt(fields[0], 10, 64)
			sum += n
		}
	}
	return time.Duration(sum)
}

// rawVerify runs GOMAXPROCS goroutines calling password.Verify on phc in a
// loop for d and returns verifications/s and CPU per verification.
func rawVerify(ctx context.Context, phc string, d time.Duration) (float64, time.Duration, error) {
	var n atomic.Int64
	var bad atomic.Bool
	cpu0, start := cpuTime(0), time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				ok, err := password.Verify(phc, legitPassword)
				if err != nil || !ok {
					bad.Store(true)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	el, cpu := time.Since(start), cpuTime(0)-cpu0
	if bad.Load() || n.Load() == 0 {
		return 0, 0, errors.New("raw argon2id verification failed")
	}
	return float64(n.Load()) / el.Seconds(), cpu / time.Duration(n.Load()), nil
}

// closedLoop has workers send pick(i) one after the other, each waiting
// for its answer, for d, or, when n > 0, until n requests were sent
// (whichever comes first), and returns the tally and the time taken.
func closedLoop(ctx context.Context, s *sender, pick func(i int64) *client, workers int, d time.Duration, n int64) (*tally, time.Duration) {
	t := &tally{}
	var next atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				i := next.Add(1) - 1
				if n > 0 && i >= n {
					return
				}
				s.login(pick(i), t0, t)
			}
		})
	}
	wg.Wait()
	return t, time.Since(start)
}

// openLoop sends n requests at rate per second regardless of answers,
// each in its own goroutine, with at most limit outstanding: one that
// would exceed it is not sent and counted in skipped. pick chooses the
// i-th request's client. Latency runs from the scheduled send time, so a
// slow server cannot hide behind a slow sender. It returns when every
// request has been answered.
func openLoop(ctx context.Context, s *sender, rate float64, n int, limit int, pick func(i int64) *client, t *tally) (skipped int64) {
	sem := make(chan struct{}, limit)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		select {
		case sem <- struct{}{}:
		default:
			skipped++
			continue
		}
		c := pick(int64(i))
		wg.Go(func() {
			defer func() { <-sem }()
			s.login(c, at, t)
		})
	}
	wg.Wait()
	return skipped
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "NOT MET"
}

// results are the figures of a run, for the report and the tests.
type results struct {
	rawBefore, rawAfter float64
	signInRate          float64
	signInRatio         float64
	signIn              *tally
	legitAlone, legitB  *tally
	attack, blockedOnly *tally
	attackRate          float64
	attackHashes        float64 // argon2id operations caused by the attacker during the stuffing phase
	blockedHashes       float64 // argon2id operations during the attack-only phase
	cpuPerBlocked       time.Duration
	saturated           *tally
	saturatedHashes     float64
	cpuPerBlockedSat    time.Duration
	// cpuPerProbe is the CPU of a GET /healthz at the attack rate: what
	// any request costs the server at that rate (waking up for it).
	cpuPerProbe time.Duration
}

func run(ctx context.Context, cfg config, out io.Writer) (*results, error) {
	res := &results{}
	dir, err := os.MkdirTemp("", "authload-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tr := genTraffic(cfg.seed, cfg.users, cfg.attackIPs, 4096)
	setupStart := time.Now()
	srv, err := startServer(ctx, cfg.spawn, serverConfig{Dir: dir, MemoryKiB: cfg.memoryKiB, Time: cfg.argonTime,
		Emails: tr.emails, Password: legitPassword, CPUProfile: childProfile(cfg)})
	if err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	defer srv.close()
	phc, err := password.ParsePHC(srv.phc)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	where := "in-process server (one Go runtime with the load generator)"
	if cfg.spawn {
		where = fmt.Sprintf("server in a child process (pid %d)", srv.pid)
	}
	fmt.Fprintf(out, "authload: %s, %s, %s/%s, %d CPUs, GOMAXPROCS %d, %s, load average %s at start\n",
		host, cpuModel(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), loadAvg())
	fmt.Fprintf(out, "authload: %s; argon2id m=%d KiB t=%d p=%d; %d legit + %d victim accounts created in %s (not measured)\n",
		where, phc.Params.Memory, phc.Params.Time, phc.Params.Threads, cfg.users, cfg.users, time.Since(setupStart).Round(time.Millisecond))
	fmt.Fprintf(out, "authload: command: %s\n\n", commandLine())

	legit := newSender(srv.addr, max(cfg.concurrency, 64))
	defer legit.hc.CloseIdleConnections()
	var next atomic.Int64

	res.rawBefore, _, err = rawPhase(ctx, out, "raw argon2id (before)", srv.phc, cfg.raw)
	if err != nil {
		return nil, err
	}
	m0, err := legit.scrape()
	if err != nil {
		return nil, err
	}
	pickLegit := func(int64) *client { return &tr.legit[(next.Add(1)-1)%int64(len(tr.legit))] }
	warm, took := closedLoop(ctx, legit, pickLegit, cfg.concurrency, maxDuration, int64(len(tr.legit)))
	m1, err := legit.scrape()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "%-28s %d sign-ins (each user once, unmeasured) in %s: %s; decisions: %s\n",
		"warm-up", warm.total(), took.Round(time.Millisecond), warm.mix(), m1.minus(m0).decisionMix())

	if cfg.phase != phaseStuffing {
		stopProfile := func() {}
		if cfg.cpuProfile != "" {
			if stopProfile, err = loadgen.StartCPUProfile(cfg.cpuProfile + ".sign-in"); err != nil {
				return nil, err
			}
		}
		cpu0 := cpuTime(srv.pid)
		t, el := closedLoop(ctx, legit, pickLegit, cfg.concurrency, cfg.duration, 0)
		cpu := cpuTime(srv.pid) - cpu0
		stopProfile()
		m2, err := legit.scrape()
		if err != nil {
			return nil, err
		}
		res.signIn = t
		res.signInRate = float64(t.n[outAuthenticated]) / el.Seconds()
		fmt.Fprintf(out, "%-28s %.1f successful sign-ins/s over %s, %d workers (each user %.1f sign-ins/min); p50 %s p99 %s; answers: %s; decisions: %s; argon2id ops %.0f\n",
			"sign-in", res.signInRate, el.Round(time.Millisecond), cfg.concurrency, float64(t.total())/el.Minutes()/float64(cfg.users),
			latency.Format(t.okLat.Quantile(0.5)), latency.Format(t.okLat.Quantile(0.99)), t.mix(), m2.minus(m1).decisionMix(), m2.minus(m1).hashes)
		if n := t.total(); n > 0 {
			fmt.Fprintf(out, "%-28s CPU %s = %s per sign-in (%s), %.2f cores\n", "sign-in: CPU", latency.Format(cpu),
				latency.Format(cpu/time.Duration(n)), cpuWhose(srv.pid), cpu.Seconds()/el.Seconds())
		}
		res.rawAfter, _, err = rawPhase(ctx, out, "raw argon2id (after)", srv.phc, cfg.raw)
		if err != nil {
			return nil, err
		}
		rawMean := (res.rawBefore + res.rawAfter) / 2
		res.signInRatio = res.signInRate / rawMean
		fmt.Fprintf(out, "\nsign-in / raw argon2id: %.1f / %.1f = %.2f (against before %.2f, after %.2f); target >= 0.85: %s\n\n",
			res.signInRate, rawMean, res.signInRatio, res.signInRate/res.rawBefore, res.signInRate/res.rawAfter, verdict(res.signInRatio >= 0.85))
	}
	if cfg.phase == phaseSignIn || ctx.Err() != nil {
		return res, ctx.Err()
	}
	if err := stuffing(ctx, cfg, out, srv, legit, tr, &next, res); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "\nauthload: load average %s at the end\n", loadAvg())
	return res, ctx.Err()
}

func rawPhase(ctx context.Context, out io.Writer, name, phc string, d time.Duration) (float64, time.Duration, error) {
	rate, cpu, err := rawVerify(ctx, phc, d)
	if err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(out, "%-28s %.1f verifications/s with %d goroutines over %s; %s CPU each\n",
		name, rate, runtime.GOMAXPROCS(0), d, latency.Format(cpu))
	return rate, cpu, nil
}

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

// childProfile is where a -spawn child writes its CPU profile.
func childProfile(cfg config) string {
	if !cfg.spawn || cfg.cpuProfile == "" {
		return ""
	}
	return cfg.cpuProfile + ".server"
}

func cpuWhose(pid int) string {
	if pid == 0 {
		return "whole process: server + load generator (an upper bound; use -spawn for the server alone)"
	}
	return "server process (child)"
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func commandLine() string {
	return strings.TrimSpace("go run ./cmd/authload " + strings.Join(os.Args[1:], " "))
}
