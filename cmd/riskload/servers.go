package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/gofiber/fiber/v2"

	rconfig "github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/daemon"
)

// server is an HTTP server riskload started on 127.0.0.1.
type server struct {
	addr  string // host:port
	path  string
	key   string // API key, empty for the echo
	close func()
}

// serve runs app on a fresh loopback port.
func serve(app *fiber.App, shutdown func(context.Context) error) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = app.Listener(ln)
	}()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(ctx)
		_ = ln.Close()
		<-done
	}
	return ln.Addr().String(), stop, nil
}

// startEcho starts a bare fiber app answering POST /echo with the request
// body as JSON: the baseline.
func startEcho() (*server, error) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Post("/echo", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(c.Request().Body())
	})
	addr, stop, err := serve(app, app.ShutdownWithContext)
	if err != nil {
		return nil, err
	}
	return &server{addr: addr, path: "/echo", close: stop}, nil
}

// riskDaemon is riskauthd built by internal/daemon on embedded defaults
// in a temporary data directory, and how to remove it after.
type riskDaemon struct {
	*daemon.Server
	key string
	dir string
}

func (r *riskDaemon) close() {
	r.Close()
	_ = os.RemoveAll(r.dir)
}

// newDaemon builds riskauthd exactly as it runs with no configuration
// file: internal/daemon on embedded defaults (default rule file and
// counters, in-memory velocity with SQLite profiles, device identifier,
// familiarity score, geo fixture, embedded breached list, alert sink on
// its JSONL file, sign-in service on SQLite, every metric), in a fresh
// temporary data directory, with a random API key and a discarding logger.
func newDaemon() (_ *riskDaemon, err error) {
	dir, err := os.MkdirTemp("", "riskload-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	key := randomHex(32)
	env := map[string]string{"RISKAUTH_DATA_DIR": dir, "RISKAUTH_API_KEYS": key}
	cfg, err := rconfig.Load("", func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	srv, err := daemon.Build(context.Background(), cfg, daemon.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return nil, err
	}
	return &riskDaemon{Server: srv, key: key, dir: dir}, nil
}

// startRisk serves newDaemon's HTTP API on a loopback port.
func startRisk() (*server, error) {
	rd, err := newDaemon()
	if err != nil {
		return nil, err
	}
	addr, stop, err := serve(rd.API.App(), rd.API.Shutdown)
	if err != nil {
		rd.close()
		return nil, err
	}
	return &server{addr: addr, path: "/v1/risk/evaluate", key: rd.key, close: func() {
		stop()
		rd.close()
	}}, nil
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
