package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskauth/riskauth/authn"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine/alert/webhook"
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/config"
)

// fanout hands each security event to every consumer: the alert sink
// (SOC, audit trail, Kafka) and the webhooks.
type fanout []authn.SecurityEvents

func (f fanout) Emit(ev *secevent.Event) {
	for _, e := range f {
		e.Emit(ev)
	}
}

// securityEvents returns where authn's events go: the alert sink and,
// with webhook endpoints configured, the webhook dispatcher (its spools
// in DATA_DIR/webhooks), started here and closed on shutdown.
func (s *Server) securityEvents(cfg *config.Config, reg prometheus.Registerer, log *slog.Logger, clk clock.Clock) (authn.SecurityEvents, error) {
	w := cfg.Webhooks
	if len(w.Endpoints) == 0 {
		return s.Sink, nil
	}
	eps := make([]webhook.Endpoint, len(w.Endpoints))
	for i, e := range w.Endpoints {
		eps[i] = webhook.Endpoint{Name: e.Name, URL: e.URL, Secret: []byte(e.Secret)}
		for _, t := range e.Events {
			eps[i].Types = append(eps[i].Types, secevent.Type(t))
		}
	}
	d, err := webhook.New(webhook.Config{Dir: filepath.Join(cfg.DataDir, "webhooks"), Endpoints: eps, MaxAttempts: w.MaxAttempts,
		Clock: clk, Logger: log, Registry: reg})
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	d.Start()
	s.closers = append(s.closers, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancel()
		return d.Close(ctx)
	})
	log.Info("webhooks on", "endpoints", len(eps))
	return fanout{s.Sink, d}, nil
}
