package main

import (
	"bufio"
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/httpapi"
	"github.com/riskauth/riskauth/authn/mail"
	"github.com/riskauth/riskauth/authn/password"
	"github.com/riskauth/riskauth/authn/seal"
	"github.com/riskauth/riskauth/authn/store"
	"github.com/riskauth/riskauth/authn/totp"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	rconfig "github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/loadgen"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/breached"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/geo"
	"github.com/riskauth/riskauth/signals/velocity"
)

// serverConfig is what a server (in-process or child) needs: where to keep
// its data, the hasher parameters and the accounts to create before the
// measurement. It travels to a -spawn child as JSON on its stdin; it holds
// no secret (the accounts' password is synthetic).
type serverConfig struct {
	Dir       string   `json:"dir"`
	MemoryKiB uint32   `json:"memory_kib"`
	Time      uint32   `json:"time"`
	Emails    []string `json:"emails"`
	Password  string   `json:"password"`
	// CPUProfile, for a -spawn child, is where it writes a CPU profile of
	// its whole life.
	CPUProfile string `json:"cpu_profile,omitempty"`
}

// server is a riskauth server authload started on 127.0.0.1.
type server struct {
	addr  string
	pid   int // the child's pid with -spawn, else 0 (this process)
	phc   string
	close func()
}

// built is the in-process server and what to close after it, in reverse.
type built struct {
	api     *httpapi.Server
	hasher  *password.Hasher
	st      *store.SQLite
	closers []func() error
}

func (b *built) close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		_ = b.closers[i]()
	}
}

// buildServer wires the server as cmd/riskauthd's build and buildAuthn do
// on embedded defaults (a minimal copy: that code lives in package main):
// configuration from internal/config with no file and the environment
// below, the embedded default rules, the in-memory velocity store with
// SQLite profiles, the device identifier, the geo signal on its embedded
// fixture, the breached check on its embedded list, the alert sink on its
// JSONL spool, the SQLite account store, the mail outbox, the argon2id
// hasher (concurrency GOMAXPROCS, max wait 2 s) and the password policy.
// Trusted proxies are 127.0.0.1, so X-Forwarded-For from the load
// generator names each client. Generated secrets are random per run.
func buildServer(ctx context.Context, sc serverConfig) (_ *built, err error) {
	b := &built{}
	defer func() {
		if err != nil {
			b.close()
		}
	}()
	env := map[string]string{
		"RISKAUTH_DATA_DIR":        sc.Dir,
		"RISKAUTH_ADDR":            "127.0.0.1:8080",
		"RISKAUTH_TRUSTED_PROXIES": "127.0.0.1",
	}
	cfg, err := rconfig.Load("", func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	if sc.MemoryKiB != 0 {
		cfg.Authn.Hasher.MemoryKiB = sc.MemoryKiB
	}
	if sc.Time != 0 {
		cfg.Authn.Hasher.Time = sc.Time
	}
	log := slog.New(slog.DiscardHandler)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	schema, err := rules.NewSchema(engine.CounterNames(cfg.Velocity.Counters))
	if err != nil {
		return nil, err
	}
	em := engine.NewMetrics(reg)
	src, err := rules.NewSource(rules.SourceConfig{Path: cfg.Rules.File, Schema: schema, OnChange: em.RuleSetChanged, Logger: log})
	if err != nil {
		return nil, err
	}
	vm, err := velocity.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	profiles, err := velocity.NewSQLiteProfiles(filepath.Join(cfg.DataDir, "profiles.db"))
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, profiles.Close)
	state, err := velocity.NewMemory(velocity.Config{Counters: cfg.Velocity.Counters, MaxKeys: cfg.Velocity.MaxKeys,
		PendingTTL: cfg.Velocity.PendingTTL}, profiles, vm)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, state.Close)
	devices, err := device.New(device.Config{Key: randomBytes(32)})
	if err != nil {
		return nil, err
	}
	g, err := geo.Open(cfg.Geo, engine.SystemClock{}, log, geo.NewMetrics(reg))
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, g.Close)
	chain := breached.Multi{breached.NewEmbedded(breached.EmbeddedOptions{CaseSensitive: cfg.Breached.CaseSensitive})}
	bsig, err := breached.NewSignal(chain, breached.SignalConfig{FailurePolicy: breached.FailurePolicy(cfg.Breached.FailurePolicy),
		Metrics: breached.NewMetrics(reg)})
	if err != nil {
		return nil, err
	}
	sink, err := alert.New(cfg.Alerts, alert.Deps{Logger: log, Metrics: alert.NewMetrics(reg),
		Encoder: ocsf.NewEncoder(ocsf.Meta{Version: "authload", Host: "authload"})})
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return sink.Close(ctx)
	})
	eng, err := engine.New(cfg.Engine, engine.Deps{Rules: src, State: state, Devices: devices, Counters: cfg.Velocity.Counters,
		Signals: []engine.Signal{g, bsig}, Sink: sink, Metrics: em, Logger: log})
	if err != nil {
		return nil, err
	}
	proxies, err := cfg.Proxies()
	if err != nil {
		return nil, err
	}

	// buildAuthn on embedded defaults.
	a := cfg.Authn
	b.st, err = store.OpenSQLite(ctx, filepath.Join(cfg.DataDir, "authn.db"), store.SQLiteOptions{})
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, b.st.Close)
	outbox, err := mail.NewOutbox(cfg.DataDir, nil, log)
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, outbox.Close)
	renderer, err := mail.NewRenderer(mail.RendererConfig{PublicOrigin: a.PublicOrigin, ServiceName: a.ServiceName})
	if err != nil {
		return nil, err
	}
	sealer, err := seal.New(map[string][]byte{"k1": randomBytes(seal.KeySize)}, "k1")
	if err != nil {
		return nil, err
	}
	master := randomBytes(32)
	codeKey, err := hkdf.Key(sha256.New, master, nil, "riskauth/authn email codes", 32)
	if err != nil {
		return nil, err
	}
	recoveryKey, err := hkdf.Key(sha256.New, master, nil, "riskauth/authn recovery codes", 32)
	if err != nil {
		return nil, err
	}
	rh, err := totp.NewRecoveryHasher(recoveryKey)
	if err != nil {
		return nil, err
	}
	params := password.DefaultParams()
	params.Memory, params.Time, params.Threads = a.Hasher.MemoryKiB, a.Hasher.Time, a.Hasher.Threads
	concurrency := a.Hasher.Concurrency
	if concurrency == 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	b.hasher, err = password.NewHasher(password.HasherConfig{Params: params, Concurrency: concurrency, MaxWait: a.Hasher.MaxWait,
		Metrics: password.NewMetrics(reg)})
	if err != nil {
		return nil, err
	}
	policy, err := password.NewChecker(password.Policy{ServiceName: a.ServiceName},
		password.BreachCheckerFunc(func(ctx context.Context, pw string) (bool, error) {
			r, err := chain.Check(ctx, pw)
			return r.Breached, err
		}))
	if err != nil {
		return nil, err
	}
	svc, err := authn.New(authn.Config{ServiceName: a.ServiceName}, authn.Deps{
		Users: b.st, Flows: b.st, Tokens: b.st, Sessions: b.st, Attempts: b.st, TOTP: b.st, Recovery: b.st,
		Risk: eng, Hasher: b.hasher, Policy: policy, Sealer: sealer, RecoveryHasher: rh, CodeKey: codeKey,
		Mailer: outbox, Renderer: renderer, Events: sink, Logger: log, Metrics: authn.NewMetrics(reg),
	})
	if err != nil {
		return nil, err
	}
	b.closers = append(b.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return svc.Close(ctx)
	})
	b.api, err = httpapi.New(httpapi.Config{APIKeys: []string{fmt.Sprintf("%x", randomBytes(32))}, BodyLimit: cfg.BodyLimit,
		TrustedProxies: proxies, PublicOrigin: a.PublicOrigin, AllowedOrigins: a.AllowedOrigins},
		httpapi.Deps{Engine: eng, Registry: reg, Logger: log, Authn: svc})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// register creates the accounts directly in the store (verified address,
// one shared argon2id hash of the synthetic password), so that
// registration costs nothing in any measured phase. It returns the hash.
func (b *built) register(ctx context.Context, emails []string, pw string) (string, error) {
	phc, err := b.hasher.Hash(ctx, pw)
	if err != nil {
		return "", err
	}
	now := time.Now()
	for _, e := range emails {
		u := authn.User{ID: uuid.Must(uuid.NewV7()).String(), Email: e, EmailVerifiedAt: now, PasswordHash: phc,
			PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
		if err := b.st.CreateUser(ctx, u); err != nil {
			return "", fmt.Errorf("create %s: %w", e, err)
		}
	}
	return phc, nil
}

// serve builds the server, creates the accounts and serves on a fresh
// loopback port.
func serve(ctx context.Context, sc serverConfig) (*server, error) {
	b, err := buildServer(ctx, sc)
	if err != nil {
		return nil, err
	}
	phc, err := b.register(ctx, sc.Emails, sc.Password)
	if err != nil {
		b.close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.close()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.api.App().Listener(ln)
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.api.Shutdown(ctx)
		_ = ln.Close()
		<-done
		b.close()
	}
	return &server{addr: ln.Addr().String(), phc: phc, close: stop}, nil
}

// startServer starts the server in this process or, with -spawn, in a
// child process running this binary (`authload -serve-child`), which reads
// its serverConfig from stdin, prints "ADDR PHC" once it listens and
// serves until its stdin closes.
func startServer(ctx context.Context, spawn bool, sc serverConfig) (*server, error) {
	if !spawn {
		return serve(ctx, sc)
	}
	child, err := loadgen.Spawn([]string{"-serve-child"}, nil, 15*time.Second)
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(child.Stdin()).Encode(sc); err != nil {
		child.Stop()
		return nil, err
	}
	parts, err := child.Ready(2)
	if err != nil {
		return nil, err
	}
	return &server{addr: parts[0], phc: parts[1], pid: child.Pid(), close: child.Stop}, nil
}

// serveChild is the -spawn child.
func serveChild() int {
	in := bufio.NewReader(os.Stdin)
	var sc serverConfig
	if err := json.NewDecoder(in).Decode(&sc); err != nil {
		fmt.Fprintln(os.Stderr, "authload child:", err)
		return 1
	}
	stopProfile := func() {}
	if sc.CPUProfile != "" {
		var err error
		if stopProfile, err = loadgen.StartCPUProfile(sc.CPUProfile); err != nil {
			fmt.Fprintln(os.Stderr, "authload child:", err)
			return 1
		}
	}
	defer stopProfile()
	s, err := serve(context.Background(), sc)
	if err != nil {
		fmt.Fprintln(os.Stderr, "authload child:", err)
		return 1
	}
	fmt.Println(s.addr, s.phc)
	_, _ = io.Copy(io.Discard, in)
	s.close()
	return 0
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return b
}
