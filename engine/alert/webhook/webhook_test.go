package webhook_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine/alert/webhook"
)

var secret = []byte("webhook-secret-0123456789abcdef-0123456789")

// receiver is a real HTTP server on loopback that verifies each
// delivery's signature as docs/webhooks.md tells receivers to, and
// answers as behave says for the n-th request (1-based).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []map[string]any
	n      atomic.Int64
	behave func(n int64, w http.ResponseWriter) bool // true: answered
	bad    atomic.Int64                              // deliveries with a wrong signature
}

func newReceiver(t *testing.T, behave func(n int64, w http.ResponseWriter) bool) *receiver {
	r := &receiver{behave: behave}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := r.n.Add(1)
		body, _ := io.ReadAll(req.Body)
		if !verify(req.Header.Get(webhook.HeaderSignature), body, time.Now(), 5*time.Minute) {
			r.bad.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if r.behave != nil && r.behave(n, w) {
			return
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		assert.Equal(t, m["id"], req.Header.Get(webhook.HeaderEventID))
		r.mu.Lock()
		r.got = append(r.got, m)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...)
}

// verify is the receiver's check of docs/webhooks.md: the HMAC of
// "<t>.<body>" and a timestamp within the replay window.
func verify(header string, body []byte, now time.Time, window time.Duration) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(sec, 0)).Abs() > window {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(sig))
}

func event(ty secevent.Type, user string) *secevent.Event {
	return &secevent.Event{Type: ty, UserID: user, Email: user + "@example.com", IP: netip.MustParseAddr("10.0.0.1"),
		Time: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Details: map[string]string{"admin": "alice"}}
}

// dispatcher starts a dispatcher with short waits. Only the dead-letter
// test gives up after a few attempts: elsewhere a delivery slowed past
// the timeout by a busy machine is retried until it succeeds, so no
// verdict depends on the machine's speed.
func dispatcher(t *testing.T, dir string, reg *prometheus.Registry, maxAttempts int, eps ...webhook.Endpoint) *webhook.Dispatcher {
	t.Helper()
	d, err := webhook.New(webhook.Config{Dir: dir, Endpoints: eps, MaxAttempts: maxAttempts, Backoff: 10 * time.Millisecond,
		MaxBackoff: 40 * time.Millisecond, Timeout: 500 * time.Millisecond, Registry: reg})
	require.NoError(t, err)
	d.Start()
	t.Cleanup(func() {
		// Not t.Context(): it is cancelled before the cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		assert.NoError(t, d.Close(ctx))
	})
	return d
}

const wait = 30 * time.Second

func TestDeliveryTypesAndSignature(t *testing.T) {
	t.Parallel()
	crm := newReceiver(t, nil)
	all := newReceiver(t, nil)
	reg := prometheus.NewRegistry()
	d := dispatcher(t, t.TempDir(), reg, 1000,
		webhook.Endpoint{Name: "crm", URL: crm.srv.URL, Secret: secret, Types: []secevent.Type{secevent.UserCreated, secevent.UserDeleted}},
		webhook.Endpoint{Name: "all", URL: all.srv.URL, Secret: secret})
	d.Emit(event(secevent.UserCreated, "u1"))
	d.Emit(event(secevent.LoginSucceeded, "u1")) // audit-only: nobody asked
	d.Emit(event(secevent.UserDisabled, "u1"))
	d.Emit(event(secevent.UserDeleted, "u1"))
	require.Eventually(t, func() bool {
		return metric(reg, "riskauth_webhook_delivered_total", "crm") == 2 && metric(reg, "riskauth_webhook_delivered_total", "all") == 3
	}, wait, 10*time.Millisecond)
	assert.Equal(t, "user_created", crm.received()[0]["type"])
	assert.Equal(t, "user_deleted", crm.received()[1]["type"])
	assert.Equal(t, []any{"user_created", "user_disabled", "user_deleted"},
		[]any{all.received()[0]["type"], all.received()[1]["type"], all.received()[2]["type"]}, "in order")
	assert.Equal(t, "u1", crm.received()[0]["user_id"])
	assert.Zero(t, crm.bad.Load()+all.bad.Load(), "every signature verifies")

	// A receiver with another secret refuses them: the signature is keyed.
	mac := webhook.Sign([]byte("another secret, 32 bytes at least!!"), []byte(`{}`), time.Now())
	assert.False(t, verify(mac, []byte(`{}`), time.Now(), time.Minute))
	assert.False(t, verify(webhook.Sign(secret, []byte(`{}`), time.Now().Add(-time.Hour)), []byte(`{}`), time.Now(), 5*time.Minute), "outside the replay window")
}

// metric is the value of the metric's child for endpoint (0 while it
// has none).
func metric(reg *prometheus.Registry, name, endpoint string) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "endpoint" && l.GetValue() == endpoint {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}

// The receiver fails twice, then times out once, then recovers: the
// event is delivered, once, after three failed attempts.
func TestRetryFailTimeoutRecover(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	r := newReceiver(t, func(n int64, w http.ResponseWriter) bool {
		switch n {
		case 1, 2:
			http.Error(w, "down", http.StatusServiceUnavailable)
			return true
		case 3:
			select { // hang past the client's timeout
			case <-release:
			case <-time.After(wait):
			}
			return true
		}
		return false
	})
	t.Cleanup(func() { close(release) }) // before the server's Close (cleanups run last first)
	reg := prometheus.NewRegistry()
	d := dispatcher(t, t.TempDir(), reg, 1000, webhook.Endpoint{Name: "crm", URL: r.srv.URL, Secret: secret})
	d.Emit(event(secevent.UserCreated, "u2"))
	require.Eventually(t, func() bool { return metric(reg, "riskauth_webhook_delivered_total", "crm") == 1 }, wait, 10*time.Millisecond)
	assert.Len(t, r.received(), 1, "delivered once")
	assert.GreaterOrEqual(t, metric(reg, "riskauth_webhook_failures_total", "crm"), 3.0)
}

// A receiver that never accepts: after MaxAttempts the event goes to the
// dead-letter file and the next one is not held behind it.
func TestDeadLetter(t *testing.T) {
	t.Parallel()
	var accept atomic.Bool
	r := newReceiver(t, func(n int64, w http.ResponseWriter) bool {
		if accept.Load() {
			return false
		}
		http.Error(w, "nope", http.StatusBadRequest)
		return true
	})
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	d := dispatcher(t, dir, reg, 4, webhook.Endpoint{Name: "crm", URL: r.srv.URL, Secret: secret})
	d.Emit(event(secevent.UserCreated, "doomed"))
	require.Eventually(t, func() bool { return metric(reg, "riskauth_webhook_dead_lettered_total", "crm") == 1 }, wait, 10*time.Millisecond)
	f, err := os.Open(filepath.Join(dir, "crm.dead-letter.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	require.True(t, sc.Scan())
	var dl struct {
		Attempts int
		Error    string
		Event    map[string]any
	}
	require.NoError(t, json.Unmarshal(sc.Bytes(), &dl))
	assert.Equal(t, 4, dl.Attempts)
	assert.Equal(t, "HTTP 400", dl.Error)
	assert.Equal(t, "doomed", dl.Event["user_id"])
	fi, err := f.Stat()
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	accept.Store(true)
	d.Emit(event(secevent.UserCreated, "next"))
	require.Eventually(t, func() bool { return len(r.received()) == 1 }, wait, 10*time.Millisecond)
	assert.Equal(t, "next", r.received()[0]["user_id"])
}

// Delivery survives a restart: events emitted while the receiver is down
// stay in the spool through Close and are delivered by the next
// dispatcher on the same directory.
func TestSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	first, err := webhook.New(webhook.Config{Dir: dir, MaxAttempts: 1000, Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Endpoints: []webhook.Endpoint{{Name: "crm", URL: down.URL, Secret: secret}}})
	require.NoError(t, err)
	first.Start()
	for i := range 3 {
		first.Emit(event(secevent.UserCreated, "r"+strconv.Itoa(i)))
	}
	require.NoError(t, first.Close(t.Context()))

	up := newReceiver(t, nil)
	dispatcher(t, dir, prometheus.NewRegistry(), 1000, webhook.Endpoint{Name: "crm", URL: up.srv.URL, Secret: secret})
	require.Eventually(t, func() bool { return len(up.received()) == 3 }, wait, 10*time.Millisecond)
	for i, m := range up.received() {
		assert.Equal(t, "r"+strconv.Itoa(i), m["user_id"], "in order")
	}
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	for name, ep := range map[string]webhook.Endpoint{
		"short secret": {Name: "crm", URL: "http://127.0.0.1:1", Secret: []byte("short")},
		"bad name":     {Name: "Bad Name", URL: "http://127.0.0.1:1", Secret: secret},
	} {
		_, err := webhook.New(webhook.Config{Dir: t.TempDir(), Endpoints: []webhook.Endpoint{ep}})
		assert.Error(t, err, name)
	}
}
