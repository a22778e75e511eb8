package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/google/uuid"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/cmd/internal/loadgen"
	rconfig "github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/daemon"
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

// buildServer builds riskauthd with internal/daemon, exactly as it runs on
// embedded defaults with no configuration file (default rules, in-memory
// velocity with SQLite profiles, device identifier, familiarity score, geo
// fixture, embedded breached list, alert sink on its JSONL file, SQLite
// account store, mail outbox, argon2id hasher, password policy), in sc.Dir
// with secrets generated there, and two changes for the measurement:
// trusted proxies are 127.0.0.1, so X-Forwarded-For from the load
// generator names each client, and the per-IP sign-in rate limit is off,
// so that the attack phases measure the risk engine's defence rather than
// the limiter's 429s (both are in front of the password hash; the limiter
// only cuts floods from one address).
func buildServer(ctx context.Context, sc serverConfig) (*daemon.Server, error) {
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
	off := 0
	cfg.Authn.RateLimit.PerIPPerMinute = &off
	return daemon.Build(ctx, cfg, daemon.WithLogger(slog.New(slog.DiscardHandler)))
}

// register creates the accounts directly in the store (verified address,
// one shared argon2id hash of the synthetic password), so that
// registration costs nothing in any measured phase. It returns the hash.
func register(ctx context.Context, b *daemon.Server, emails []string, pw string) (string, error) {
	phc, err := b.Hasher.Hash(ctx, pw)
	if err != nil {
		return "", err
	}
	now := time.Now()
	for _, e := range emails {
		u := authn.User{ID: uuid.Must(uuid.NewV7()).String(), Email: e, EmailVerifiedAt: now, PasswordHash: phc,
			PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
		if err := b.Accounts.CreateUser(ctx, u); err != nil {
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
	phc, err := register(ctx, b, sc.Emails, sc.Password)
	if err != nil {
		b.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Close()
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.API.App().Listener(ln)
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = b.API.Shutdown(ctx)
		_ = ln.Close()
		<-done
		b.Close()
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
