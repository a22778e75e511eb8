// Command riskauthd is the riskauth server: it reads the configuration,
// builds every component, serves HTTP and shuts down gracefully. It holds
// no logic of its own.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/daemon"
	"github.com/riskauth/riskauth/internal/tracing"
)

func main() {
	cfgPath := flag.String("config", os.Getenv("RISKAUTH_CONFIG"), "YAML configuration file (RISKAUTH_CONFIG)")
	probeURL := flag.String("probe", "", "check a loopback URL (e.g. http://127.0.0.1:9090/readyz) and exit 0 if it answers 2xx: the container health check")
	flag.Parse()
	if *probeURL != "" {
		if err := probe(context.Background(), *probeURL); err != nil {
			fmt.Fprintln(os.Stderr, "riskauthd:", err)
			os.Exit(1)
		}
		return
	}
	daemon.SetDefaultGC()
	if err := run(*cfgPath); err != nil {
		fmt.Fprintln(os.Stderr, "riskauthd:", err)
		os.Exit(1)
	}
}

func run(cfgPath string) error {
	cfg, err := config.Load(cfgPath, os.Getenv)
	if err != nil {
		return err
	}
	trc, err := tracing.Setup(context.Background(), os.Getenv, daemon.Version())
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, trc != nil)
	daemon.ApplyMemoryLimit(cfg.Memory(), os.Getenv, log)
	// Components that fall back to slog.Default() (the Redis state store's
	// annotation writer, a spool opened without a logger, the breach range
	// client) and the standard log package then write to the same JSON
	// stream at the same level instead of unstructured lines.
	slog.SetDefault(log)
	// go-redis logs through a process-wide logger of its own; route it into
	// ours so its lines are structured like every other.
	redis.SetLogger(redisLogger{log})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if trc != nil {
		log.Info("tracing on: spans exported by OTLP", "endpoint", otlpEndpoint())
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := trc.Shutdown(sctx); err != nil {
				log.Warn("tracing", "err", err)
			}
		}()
	}
	srv, err := daemon.Build(ctx, cfg, daemon.WithLogger(log), daemon.WithTracing(trc))
	if err != nil {
		return err
	}
	defer srv.Close()

	errc := make(chan error, 2)
	ln, err := cfg.Listen()
	if err != nil {
		return err
	}
	go func() {
		if err := srv.API.Serve(ln); err != nil {
			errc <- fmt.Errorf("listen %s: %w", cfg.Addr, err)
		}
	}()
	if cfg.MetricsAddr != "" {
		ln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen %s (metrics): %w", cfg.MetricsAddr, err)
		}
		go func() {
			if err := srv.API.ServeOps(ln); err != nil {
				errc <- fmt.Errorf("listen %s (metrics): %w", cfg.MetricsAddr, err)
			}
		}()
	}
	log.Info("riskauthd listening", "addr", cfg.Addr, "tls", cfg.TLS.On(), "metrics_addr", cfg.MetricsAddr, "metrics_token", cfg.MetricsToken != "",
		"ruleset", srv.Engine.Rules().Current().Version, "state", srv.StateKind, "alerts", srv.Sink.Status().Transport, "data_dir", cfg.DataDir)
	if cfg.MetricsAddr == "" && cfg.MetricsToken == "" {
		log.Warn("/metrics is open to everyone who reaches " + cfg.Addr + ": set RISKAUTH_METRICS_ADDR or RISKAUTH_METRICS_TOKEN")
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := srv.API.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	return nil
}

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

// newLogger is riskauthd's JSON logger; with tracing, lines logged with a
// request's context carry its trace_id and span_id.
func newLogger(level string, traced bool) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	var h slog.Handler = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})
	if traced {
		h = tracing.LogHandler(h)
	}
	return slog.New(h)
}

// otlpEndpoint names where spans go, for the start-up line: the host
// only, in case the URL carries credentials.
func otlpEndpoint() string {
	e := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	if e == "" {
		e = os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if u, err := url.Parse(e); err == nil && u.Host != "" {
		return u.Host
	}
	return "(unparsed)"
}
