// Command riskauthd is the riskauth server: it reads the configuration,
// builds every component, serves HTTP and shuts down gracefully. It holds
// no logic of its own.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/daemon"
)

func main() {
	cfgPath := flag.String("config", os.Getenv("RISKAUTH_CONFIG"), "YAML configuration file (RISKAUTH_CONFIG)")
	flag.Parse()
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
	log := newLogger(cfg.LogLevel)
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

	srv, err := daemon.Build(ctx, cfg, daemon.WithLogger(log))
	if err != nil {
		return err
	}
	defer srv.Close()

	errc := make(chan error, 1)
	go func() { errc <- srv.API.App().Listen(cfg.Addr) }()
	log.Info("riskauthd listening", "addr", cfg.Addr, "ruleset", srv.Engine.Rules().Current().Version,
		"state", srv.StateKind, "alerts", srv.Sink.Status().Transport, "data_dir", cfg.DataDir)
	select {
	case err := <-errc:
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownGrace)
	if err := srv.API.App().ShutdownWithTimeout(cfg.ShutdownGrace); err != nil {
		log.Warn("shutdown", "err", err)
	}
	return nil
}

type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
