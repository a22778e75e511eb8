package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

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
	maxSignIns     = maxRate * int64(maxDuration/time.Second)
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
	signIns          int64         // the sign-in phase's sign-ins at most (0: no limit but duration)
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
	fs.Int64Var(&cfg.signIns, "sign-ins", 0, "end the sign-in phase after this many sign-ins if -duration has not passed (0: -duration alone)")
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
	case cfg.signIns < 0 || cfg.signIns > maxSignIns:
		return cfg, fmt.Errorf("-sign-ins %d: want 0 to %d", cfg.signIns, maxSignIns)
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
		t, el := closedLoop(ctx, legit, pickLegit, cfg.concurrency, cfg.duration, cfg.signIns)
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

// childProfile is where a -spawn child writes its CPU profile.
func childProfile(cfg config) string {
	if !cfg.spawn || cfg.cpuProfile == "" {
		return ""
	}
	return cfg.cpuProfile + ".server"
}

func commandLine() string {
	return strings.TrimSpace("go run ./cmd/authload " + strings.Join(os.Args[1:], " "))
}
