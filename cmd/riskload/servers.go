package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/riskauth/riskauth/authn/httpapi"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/breached"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/geo"
	"github.com/riskauth/riskauth/signals/velocity"
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

// riskEngine is the engine on embedded defaults and what to close after.
type riskEngine struct {
	eng     *engine.Engine
	closers []func() error
}

func (r *riskEngine) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		_ = r.closers[i]()
	}
}

// newEngine builds the engine the way riskauthd does on embedded defaults:
// the default rule file and counter catalogue, the in-memory velocity store
// with SQLite profiles (in a temporary directory), the device identifier
// (random key), the geo signal on its embedded fixture and the breached
// check on its embedded list, all metrics on reg.
func newEngine(reg *prometheus.Registry) (_ *riskEngine, err error) {
	r := &riskEngine{}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	log := slog.New(slog.DiscardHandler)
	counters := engine.DefaultCounters()
	schema, err := rules.NewSchema(engine.CounterNames(counters))
	if err != nil {
		return nil, err
	}
	em := engine.NewMetrics(reg)
	src, err := rules.NewSource(rules.SourceConfig{Schema: schema, OnChange: em.RuleSetChanged})
	if err != nil {
		return nil, err
	}
	vm, err := velocity.NewMetrics(reg)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "riskload-")
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() error { return os.RemoveAll(dir) })
	profiles, err := velocity.NewSQLiteProfiles(filepath.Join(dir, "profiles.db"))
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, profiles.Close)
	store, err := velocity.NewMemory(velocity.Config{Counters: counters}, profiles, vm)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, store.Close)
	dev, err := device.New(device.Config{Key: []byte(randomHex(32))})
	if err != nil {
		return nil, err
	}
	g, err := geo.Open(geo.Config{}, engine.SystemClock{}, log, geo.NewMetrics(reg))
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, g.Close)
	bm := breached.NewMetrics(reg)
	bsig, err := breached.NewSignal(breached.Multi{breached.NewEmbedded(breached.EmbeddedOptions{})}, breached.SignalConfig{Metrics: bm})
	if err != nil {
		return nil, err
	}
	r.eng, err = engine.New(engine.Config{}, engine.Deps{
		Rules: src, State: store, Devices: dev, Counters: counters, Signals: []engine.Signal{g, bsig},
		Metrics: em, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// startRisk starts the riskauth HTTP API on embedded defaults (newEngine),
// with the HTTP, Go and process metrics on the same registry, as riskauthd
// has them, and a random API key.
func startRisk() (*server, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	re, err := newEngine(reg)
	if err != nil {
		return nil, err
	}
	key := randomHex(32)
	srv, err := httpapi.New(httpapi.Config{APIKeys: []string{key}}, httpapi.Deps{Engine: re.eng, Registry: reg})
	if err != nil {
		re.close()
		return nil, err
	}
	addr, stop, err := serve(srv.App(), srv.Shutdown)
	if err != nil {
		re.close()
		return nil, err
	}
	return &server{addr: addr, path: "/v1/risk/evaluate", key: key, close: func() {
		stop()
		re.close()
	}}, nil
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
