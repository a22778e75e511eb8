package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine/alert/spool"
	"github.com/riskauth/riskauth/engine/clock"
)

// Headers of a delivery.
const (
	// HeaderSignature is "t=<unix seconds>,v1=<hex HMAC-SHA256 of
	// "<t>.<body>" under the endpoint's secret>".
	HeaderSignature = "Riskauth-Signature"
	// HeaderEventID repeats the event's id, for de-duplication.
	HeaderEventID = "Riskauth-Event-Id"
)

// Endpoint is one receiver.
type Endpoint struct {
	// Name labels its metrics and names its spool directory.
	Name string
	URL  string
	// Secret keys the signature (at least 32 bytes).
	Secret []byte
	// Types are the event types it wants; none means every type but the
	// audit-only ones (secevent.Type.AuditOnly).
	Types []secevent.Type
}

// Config configures the Dispatcher. Zero durations take the defaults.
type Config struct {
	// Dir holds one spool directory per endpoint and the dead letters.
	Dir       string
	Endpoints []Endpoint
	// MaxAttempts before an event is dead-lettered (default 8).
	MaxAttempts int
	// Backoff after the first failure (default 1s), doubling up to
	// MaxBackoff (default 5m).
	Backoff, MaxBackoff time.Duration
	// Timeout of one POST (default 10s).
	Timeout time.Duration
	// Client sends the requests (default: a client with Timeout).
	Client *http.Client
	// Clock stamps the signatures (default: the system clock).
	Clock     clock.Clock
	Logger    *slog.Logger
	Registry  prometheus.Registerer
	SpoolSize int64 // bytes per endpoint (default 256 MiB)
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// Dispatcher queues events to the endpoints and delivers them.
type Dispatcher struct {
	cfg     Config
	targets []*target
	m       *metrics
	cancel  context.CancelFunc
	done    chan struct{}
}

type target struct {
	ep    Endpoint
	sp    *spool.Spool
	dead  string // dead-letter JSONL file
	wake  chan struct{}
	types map[secevent.Type]bool
}

// New checks cfg and opens the spools; Start begins delivery.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	cfg.Backoff = orDefault(cfg.Backoff, time.Second)
	cfg.MaxBackoff = orDefault(cfg.MaxBackoff, 5*time.Minute)
	cfg.Timeout = orDefault(cfg.Timeout, 10*time.Second)
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SpoolSize <= 0 {
		cfg.SpoolSize = 256 << 20
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{cfg: cfg, m: m}
	seen := map[string]bool{}
	for i, ep := range cfg.Endpoints {
		switch {
		case !nameRe.MatchString(ep.Name) || seen[ep.Name]:
			return nil, errors.Join(fmt.Errorf("webhook: endpoint #%d: name missing, invalid or used twice", i+1), d.Close(context.Background()))
		case len(ep.Secret) < 32:
			return nil, errors.Join(fmt.Errorf("webhook: endpoint %s: secret shorter than 32 bytes", ep.Name), d.Close(context.Background()))
		}
		seen[ep.Name] = true
		sp, err := spool.Open(spool.Options{Dir: filepath.Join(cfg.Dir, ep.Name), MaxBytes: cfg.SpoolSize, Logger: cfg.Logger})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("webhook: endpoint %s: %w", ep.Name, err), d.Close(context.Background()))
		}
		t := &target{ep: ep, sp: sp, dead: filepath.Join(cfg.Dir, ep.Name+".dead-letter.jsonl"), wake: make(chan struct{}, 1)}
		if len(ep.Types) > 0 {
			t.types = map[secevent.Type]bool{}
			for _, ty := range ep.Types {
				t.types[ty] = true
			}
		}
		d.targets = append(d.targets, t)
		m.pending.WithLabelValues(ep.Name).Set(float64(sp.Len()))
	}
	return d, nil
}

func orDefault(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

func (t *target) wants(ty secevent.Type) bool {
	if t.types == nil {
		return !ty.AuditOnly()
	}
	return t.types[ty]
}

// payload is the JSON body of a delivery.
type payload struct {
	ID        string            `json:"id"`
	Type      secevent.Type     `json:"type"`
	Time      time.Time         `json:"time"`
	UserID    string            `json:"user_id,omitempty"`
	Email     string            `json:"email,omitempty"`
	IP        string            `json:"ip,omitempty"`
	SessionID string            `json:"session_id,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
}

// Emit queues ev for every endpoint that wants its type. It writes the
// spools (no network), so it returns quickly; a full spool drops the
// event for that endpoint and counts it.
func (d *Dispatcher) Emit(ev *secevent.Event) {
	if ev == nil {
		return
	}
	var body []byte
	for _, t := range d.targets {
		if !t.wants(ev.Type) {
			continue
		}
		if body == nil {
			p := payload{ID: newID(), Type: ev.Type, Time: ev.Time, UserID: ev.UserID, Email: ev.Email, SessionID: ev.SessionID, Details: ev.Details}
			if p.Time.IsZero() {
				p.Time = d.cfg.Clock.Now()
			}
			if ev.IP.IsValid() {
				p.IP = ev.IP.Unmap().String()
			}
			var err error
			if body, err = json.Marshal(p); err != nil {
				return
			}
		}
		if err := t.sp.Append(body); err != nil {
			d.m.dropped.WithLabelValues(t.ep.Name).Inc()
			d.cfg.Logger.Warn("webhook event not queued", "endpoint", t.ep.Name, "err", err)
			continue
		}
		d.m.pending.WithLabelValues(t.ep.Name).Set(float64(t.sp.Len()))
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Sign returns the signature header value of body at t under secret.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
