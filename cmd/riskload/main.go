package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/riskauth/riskauth/cmd/internal/latency"
	"github.com/riskauth/riskauth/cmd/internal/loadgen"
	"github.com/riskauth/riskauth/internal/daemon"
	"github.com/valyala/fasthttp"
)

// Bounds on the flags: a run always ends by itself.
const (
	maxDuration    = 10 * time.Minute
	maxConcurrency = 4096
	maxRounds      = 20
	maxBodies      = 1 << 20
	maxUsers       = 10_000_000
)

type config struct {
	duration, warmup time.Duration
	requests         int64
	concurrency      int
	rounds           int
	target           string
	apiKey           string
	spawn            bool
	serverProcs      int
	clientProcs      int
	cpuProfile       string
	body             bodyConfig
}

func main() {
	// riskauthd's GC setting, for the server under test and its baseline alike.
	daemon.SetDefaultGC()
	if len(os.Args) == 3 && os.Args[1] == "-serve-child" {
		os.Exit(serveChild(os.Args[2]))
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "riskload:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "riskload:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("riskload", flag.ContinueOnError)
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "measured time per server (at most 10m)")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "unmeasured load before each measurement")
	fs.Int64Var(&cfg.requests, "requests", 0, "stop each measurement after this many answers (0: run for -duration)")
	fs.IntVar(&cfg.concurrency, "concurrency", 64, "concurrent keep-alive connections (workers)")
	fs.IntVar(&cfg.rounds, "rounds", 1, "measure echo and risk this many times, alternating their order, and report medians (at most 20)")
	fs.StringVar(&cfg.target, "target", "", "base URL of a running riskauthd on a loopback address (default: an in-process server); its API key is read from $RISKLOAD_API_KEY")
	fs.BoolVar(&cfg.spawn, "spawn", false, "run each in-process server in a child process of its own")
	fs.IntVar(&cfg.serverProcs, "server-procs", 0, "GOMAXPROCS of spawned servers (0: default)")
	fs.IntVar(&cfg.clientProcs, "client-procs", 0, "GOMAXPROCS of the load generator (0: default)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write a CPU profile of the risk phase (in-process servers included) to this file")
	fs.Uint64Var(&cfg.body.Seed, "seed", 1, "seed of the traffic generator")
	fs.IntVar(&cfg.body.Users, "users", 50_000, "distinct accounts in the traffic")
	fs.IntVar(&cfg.body.Bodies, "bodies", 32768, "distinct request bodies, cycled through")
	fs.IntVar(&cfg.body.Attackers, "attackers", 20, "attacking IP addresses in the traffic")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	case cfg.duration <= 0 || cfg.duration > maxDuration:
		return cfg, fmt.Errorf("-duration %s: want more than 0 and at most %s", cfg.duration, maxDuration)
	case cfg.warmup < 0 || cfg.warmup > maxDuration:
		return cfg, fmt.Errorf("-warmup %s: want 0 to %s", cfg.warmup, maxDuration)
	case cfg.requests < 0:
		return cfg, errors.New("-requests must not be negative")
	case cfg.rounds < 1 || cfg.rounds > maxRounds:
		return cfg, fmt.Errorf("-rounds %d: want 1 to %d", cfg.rounds, maxRounds)
	case cfg.concurrency < 1 || cfg.concurrency > maxConcurrency:
		return cfg, fmt.Errorf("-concurrency %d: want 1 to %d", cfg.concurrency, maxConcurrency)
	case cfg.body.Users < 2 || cfg.body.Users > maxUsers:
		return cfg, fmt.Errorf("-users %d: want 2 to %d", cfg.body.Users, maxUsers)
	case cfg.body.Bodies < 1 || cfg.body.Bodies > maxBodies:
		return cfg, fmt.Errorf("-bodies %d: want 1 to %d", cfg.body.Bodies, maxBodies)
	case cfg.body.Attackers < 1 || cfg.body.Attackers > 10_000:
		return cfg, fmt.Errorf("-attackers %d: want 1 to 10000", cfg.body.Attackers)
	case cfg.serverProcs < 0 || cfg.clientProcs < 0:
		return cfg, errors.New("-server-procs and -client-procs must not be negative")
	case cfg.serverProcs > 0 && !cfg.spawn:
		return cfg, errors.New("-server-procs needs -spawn (one process has one GOMAXPROCS)")
	}
	if cfg.target != "" {
		u, err := url.Parse(cfg.target)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return cfg, fmt.Errorf("-target %q: want http://127.0.0.1:PORT", cfg.target)
		}
		host := u.Hostname()
		ip := net.ParseIP(host)
		if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return cfg, fmt.Errorf("-target %q: only loopback addresses are allowed", cfg.target)
		}
		cfg.apiKey = os.Getenv("RISKLOAD_API_KEY")
		if cfg.apiKey == "" {
			return cfg, errors.New("-target needs the API key in $RISKLOAD_API_KEY")
		}
	}
	return cfg, nil
}

// result is one measured phase.
type result struct {
	name      string
	ok, bad   int64 // 2xx answers, other answers
	errs      int64 // transport errors
	blocks    int64 // answers deciding "block"
	elapsed   time.Duration
	lat       latency.Hist
	firstErr  string
	firstBody string
}

func (r *result) rps() float64 { return float64(r.ok+r.bad) / r.elapsed.Seconds() }

func run(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.clientProcs > 0 {
		runtime.GOMAXPROCS(cfg.clientProcs)
	}
	bodies := genBodies(cfg.body)

	echo, err := startServer(cfg, "echo")
	if err != nil {
		return fmt.Errorf("start echo server: %w", err)
	}
	defer echo.close()
	var risk *server
	if cfg.target != "" {
		u, _ := url.Parse(cfg.target)
		risk = &server{addr: u.Host, path: strings.TrimSuffix(u.Path, "/") + "/v1/risk/evaluate", key: cfg.apiKey, close: func() {}}
	} else {
		risk, err = startServer(cfg, "risk")
		if err != nil {
			return fmt.Errorf("start risk server: %w", err)
		}
		defer risk.close()
	}

	fmt.Fprintf(out, "riskload: %s/%s, %d CPUs, %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), setupText(cfg, true))
	fmt.Fprintf(out, "riskload: %d workers, %s warm-up + %s per server, %d distinct bodies from seed %d\n\n",
		cfg.concurrency, cfg.warmup, cfg.duration, len(bodies), cfg.body.Seed)

	type phase struct {
		name string
		srv  *server
	}
	var rounds [][2]*result // echo, risk
	for round := range cfg.rounds {
		// Odd rounds measure risk first, so that a drift of the machine
		// (another job starting, the page cache warming) falls on both.
		phases := []phase{{"echo", echo}, {"risk", risk}}
		if round%2 == 1 {
			phases[0], phases[1] = phases[1], phases[0]
		}
		var pair [2]*result
		for _, s := range phases {
			stopProfile := func() {}
			if s.name == "risk" && cfg.cpuProfile != "" && round == 0 {
				if stopProfile, err = loadgen.StartCPUProfile(cfg.cpuProfile); err != nil {
					return err
				}
			}
			res, err := load(ctx, cfg, s.name, s.srv, bodies)
			stopProfile()
			if err != nil {
				return err
			}
			if res.ok == 0 {
				return fmt.Errorf("%s: no successful answer (first error %q, first body %q)", res.name, res.firstErr, res.firstBody)
			}
			if s.name == "echo" {
				pair[0] = res
			} else {
				pair[1] = res
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		rounds = append(rounds, pair)
		if cfg.rounds > 1 {
			fmt.Fprintf(out, "round %d: echo %.0f req/s, risk %.0f req/s, risk/echo %.2f\n", round+1, pair[0].rps(), pair[1].rps(), pair[1].rps()/pair[0].rps())
		}
	}
	if cfg.rounds > 1 {
		fmt.Fprintln(out)
	}
	report(out, cfg, rounds)
	return nil
}

// median is the middle value of xs (the mean of the middle two for an
// even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// setupText says where the servers ran, long for the header or short for
// the table row.
func setupText(cfg config, long bool) string {
	echo := "in-process"
	if cfg.spawn {
		echo = "child process"
	}
	switch {
	case cfg.target != "" && long:
		return fmt.Sprintf("risk: riskauthd at %s; echo: %s; load generator GOMAXPROCS %d", cfg.target, echo, runtime.GOMAXPROCS(0))
	case cfg.target != "":
		return "riskauthd, echo " + echo
	case cfg.spawn && long:
		return fmt.Sprintf("servers in child processes (GOMAXPROCS %s), load generator GOMAXPROCS %d", procsText(cfg.serverProcs), runtime.GOMAXPROCS(0))
	case cfg.spawn:
		return "child processes"
	case long:
		return "in-process servers (one Go runtime, GOMAXPROCS " + strconv.Itoa(runtime.GOMAXPROCS(0)) + ")"
	}
	return "in-process"
}

func procsText(n int) string {
	if n == 0 {
		return "default " + strconv.Itoa(runtime.NumCPU())
	}
	return strconv.Itoa(n)
}

// load drives one server with cfg.concurrency workers, each on its own
// keep-alive connection.
func load(ctx context.Context, cfg config, name string, srv *server, bodies [][]byte) (*result, error) {
	client := &fasthttp.HostClient{
		Addr:                     srv.addr,
		MaxConns:                 cfg.concurrency,
		MaxConnWaitTimeout:       10 * time.Second,
		ReadTimeout:              10 * time.Second,
		WriteTimeout:             10 * time.Second,
		MaxIdleConnDuration:      time.Minute,
		NoDefaultUserAgentHeader: true,
	}
	defer client.CloseIdleConnections()

	start := time.Now()
	measureFrom := start.Add(cfg.warmup)
	deadline := measureFrom.Add(cfg.duration)
	var answered atomic.Int64
	var stop atomic.Bool
	res := &result{name: name}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range cfg.concurrency {
		wg.Go(func() {
			var lat latency.Hist
			var ok, bad, errs, blocks int64
			var firstErr, firstBody string
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + srv.addr + srv.path)
			req.Header.SetMethod(fasthttp.MethodPost)
			req.Header.SetContentType("application/json")
			if srv.key != "" {
				req.Header.Set("Authorization", "Bearer "+srv.key)
			}
			i := w * len(bodies) / cfg.concurrency
			for !stop.Load() {
				req.SetBodyRaw(bodies[i%len(bodies)])
				i++
				t0 := time.Now()
				err := client.Do(req, resp)
				t1 := time.Now()
				if t1.After(deadline) || ctx.Err() != nil {
					stop.Store(true)
					break
				}
				if t0.Before(measureFrom) {
					continue
				}
				switch {
				case err != nil:
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				case resp.StatusCode() >= 200 && resp.StatusCode() < 300:
					ok++
					if isBlock(resp.Body()) {
						blocks++
					}
				default:
					bad++
					if firstBody == "" {
						firstBody = fmt.Sprintf("%d %s", resp.StatusCode(), resp.Body())
					}
				}
				lat.Record(t1.Sub(t0))
				if cfg.requests > 0 && answered.Add(1) >= cfg.requests {
					stop.Store(true)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.lat.Merge(&lat)
			res.ok += ok
			res.bad += bad
			res.errs += errs
			res.blocks += blocks
			if res.firstErr == "" {
				res.firstErr = firstErr
			}
			if res.firstBody == "" {
				res.firstBody = firstBody
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(measureFrom)
	if res.elapsed <= 0 {
		return nil, fmt.Errorf("%s: the warm-up did not end", name)
	}
	return res, nil
}

// report prints the last round's table, and the summary row for
// docs/benchmarks.md: with several rounds, every figure in it is the median
// over the rounds (the ratio the median of the per-round ratios).
func report(out io.Writer, cfg config, rounds [][2]*result) {
	last := rounds[len(rounds)-1]
	fmt.Fprintf(out, "%-6s %10s %8s %8s %8s %11s %10s %10s %10s\n", "server", "answers", "non-2xx", "errors", "blocks", "req/s", "p50", "p99", "max")
	for _, r := range last {
		fmt.Fprintf(out, "%-6s %10d %8d %8d %8d %11.0f %10s %10s %10s\n", r.name, r.ok+r.bad, r.bad, r.errs, r.blocks,
			r.rps(), latency.Format(r.lat.Quantile(0.5)), latency.Format(r.lat.Quantile(0.99)), latency.Format(r.lat.Max()))
		if r.firstErr != "" {
			fmt.Fprintf(out, "       first error: %s\n", r.firstErr)
		}
		if r.firstBody != "" {
			fmt.Fprintf(out, "       first non-2xx: %.200s\n", r.firstBody)
		}
	}
	// col is the median over the rounds of one figure of a round.
	col := func(f func(echo, risk *result) float64) float64 {
		xs := make([]float64, len(rounds))
		for i, p := range rounds {
			xs[i] = f(p[0], p[1])
		}
		return median(xs)
	}
	echoRPS := col(func(e, _ *result) float64 { return e.rps() })
	riskRPS := col(func(_, r *result) float64 { return r.rps() })
	ratio := col(func(e, r *result) float64 { return r.rps() / e.rps() })
	echoP99 := time.Duration(col(func(e, _ *result) float64 { return float64(e.lat.Quantile(0.99)) }))
	riskP50 := time.Duration(col(func(_, r *result) float64 { return float64(r.lat.Quantile(0.5)) }))
	riskP99 := time.Duration(col(func(_, r *result) float64 { return float64(r.lat.Quantile(0.99)) }))
	what := "risk/echo throughput ratio"
	if len(rounds) > 1 {
		what = fmt.Sprintf("risk/echo throughput ratio, median of %d rounds", len(rounds))
	}
	fmt.Fprintf(out, "\n%s: %.2f (target >= 0.50)\n\n", what, ratio)
	host, _ := os.Hostname()
	setup := setupText(cfg, false)
	fmt.Fprintln(out, "| date | machine | setup | command | echo req/s | echo p99 | risk req/s | risk p50 | risk p99 | risk/echo |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|")
	fmt.Fprintf(out, "| %s | %s, %d CPUs, %s | %s | `%s` | %.0f | %s | %.0f | %s | %s | %.2f |\n",
		time.Now().UTC().Format("2006-01-02"), host, runtime.NumCPU(), runtime.Version(), setup, commandLine(),
		echoRPS, latency.Format(echoP99), riskRPS, latency.Format(riskP50), latency.Format(riskP99), ratio)
}

func commandLine() string {
	return strings.TrimSpace("go run ./cmd/riskload " + strings.Join(os.Args[1:], " "))
}

// startServer starts the named server in this process or, with -spawn, in
// a child process running this binary.
func startServer(cfg config, kind string) (*server, error) {
	if !cfg.spawn {
		if kind == "echo" {
			return startEcho()
		}
		return startRisk()
	}
	var env []string
	if cfg.serverProcs > 0 {
		env = append(env, "GOMAXPROCS="+strconv.Itoa(cfg.serverProcs))
	}
	child, err := loadgen.Spawn([]string{"-serve-child", kind}, env, 10*time.Second)
	if err != nil {
		return nil, err
	}
	// The child prints "ADDR PATH [KEY]" once it listens; the key travels
	// over the pipe, never on a command line.
	parts, err := child.Ready(2)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	s := &server{addr: parts[0], path: parts[1], close: child.Stop}
	if len(parts) > 2 {
		s.key = parts[2]
	}
	return s, nil
}

// serveChild is the -spawn child: it serves until its stdin closes.
func serveChild(kind string) int {
	var s *server
	var err error
	switch kind {
	case "echo":
		s, err = startEcho()
	case "risk":
		s, err = startRisk()
	default:
		err = fmt.Errorf("unknown server %q", kind)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "riskload child:", err)
		return 1
	}
	fmt.Println(strings.TrimSpace(s.addr + " " + s.path + " " + s.key))
	_, _ = io.Copy(io.Discard, os.Stdin)
	s.close()
	return 0
}

var (
	decisionKey   = []byte(`"decision":`)
	blockDecision = []byte(`"decision":"block"`)
)

// isBlock reports whether an answer decided block. riskauthd writes the
// decision within the first hundred bytes, so the head is searched first:
// the load generator shares the CPU with the server it measures and should
// not scan 2 KB of signal outputs per answer. A body whose head has no
// decision (another server version) is searched whole.
func isBlock(body []byte) bool {
	head := body[:min(len(body), 256)]
	if bytes.Contains(head, decisionKey) {
		return bytes.Contains(head, blockDecision)
	}
	return bytes.Contains(body, blockDecision)
}
