package alert_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/velocity"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	alertsTopic    = "riskauth.alerts"
	auditTopic     = alert.DefaultAuditTopic
	decisionsTopic = "riskauth.decisions"
)

// newEngine builds a real engine on the embedded backends (default rules,
// in-memory velocity and profiles, the device identifier), publishing to
// sink.
func newEngine(t testing.TB, sink engine.DecisionSink) *engine.Engine {
	t.Helper()
	counters := engine.DefaultCounters()
	schema, err := rules.NewSchema(engine.CounterNames(counters))
	require.NoError(t, err)
	src, err := rules.NewSource(rules.SourceConfig{Schema: schema})
	require.NoError(t, err)
	mem, err := velocity.NewMemory(velocity.Config{Counters: counters}, velocity.NewMemProfiles(0), nil)
	require.NoError(t, err)
	t.Cleanup(func() { mem.Close() })
	devices, err := device.New(device.Config{Key: []byte("0123456789abcdef0123456789abcdef")})
	require.NoError(t, err)
	e, err := engine.New(engine.Config{}, engine.Deps{Rules: src, State: mem, Devices: devices, Counters: counters, Sink: sink})
	require.NoError(t, err)
	return e
}

const chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// event i is for user-(i%users); every third comes from curl (an
// automation-client alert), and one IP serves many users, so credential
// stuffing blocks follow after 20 of them.
func event(i, users int) engine.Event {
	ev := engine.Event{Kind: engine.KindLogin, UserID: fmt.Sprintf("user-%d", i%users),
		IP: netip.AddrFrom4([4]byte{198, 51, 100, byte(i%7 + 1)}), UserAgent: chrome,
		Device: &engine.DeviceDescriptor{CookieID: fmt.Sprintf("dev-%d", i%users)}}
	if i%3 == 0 {
		ev.UserAgent = "curl/8.5.0"
	}
	return ev
}

// published records what went into the sink, in order.
type published struct {
	mu    sync.Mutex
	order map[string]int // evaluation id -> publish index
	users map[string]string
	alert map[string]bool
	n     int
}

func newPublished() *published {
	return &published{order: map[string]int{}, users: map[string]string{}, alert: map[string]bool{}}
}

// evaluate runs n events through e and remembers their decisions.
func (p *published) evaluate(t testing.TB, e *engine.Engine, from, n, users int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		d, err := e.Evaluate(context.Background(), event(i, users))
		require.NoError(t, err)
		p.mu.Lock()
		p.order[d.EvaluationID] = p.n
		p.users[d.EvaluationID] = d.Keys.User
		p.alert[d.EvaluationID] = ocsf.IsAlert(d)
		p.n++
		p.mu.Unlock()
	}
}

func (p *published) alerts() int {
	n := 0
	for _, a := range p.alert {
		if a {
			n++
		}
	}
	return n
}

// cluster starts a 3-broker kfake cluster with both topics; opts add to
// the defaults.
func cluster(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3), kfake.SeedTopics(3, alertsTopic, auditTopic, decisionsTopic)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func ports(t testing.TB, addrs []string) []int {
	var ps []int
	for _, a := range addrs {
		_, p, err := net.SplitHostPort(a)
		require.NoError(t, err)
		n, err := strconv.Atoi(p)
		require.NoError(t, err)
		ps = append(ps, n)
	}
	return ps
}

// consumed are the records read back, by topic, in partition order.
type consumed struct {
	recs map[string][]*kgo.Record
	ids  map[string]map[string]bool // topic -> distinct event ids
}

// distinct counts a topic's messages, duplicates counted once.
func (c *consumed) distinct(topic string) int { return len(c.ids[topic]) }

// consume reads the topics from the start with a separate franz-go
// client until want(records) holds, or fails after testenv.Patience.
func consume(t testing.TB, addrs []string, want func(c *consumed) bool) *consumed {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(alertsTopic, auditTopic, decisionsTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	c := &consumed{recs: map[string][]*kgo.Record{}, ids: map[string]map[string]bool{alertsTopic: {}, auditTopic: {}, decisionsTopic: {}}}
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience)
	defer cancel()
	for !want(c) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume: timed out after %s with %d alerts and %d decisions", testenv.Patience, len(c.recs[alertsTopic]), len(c.recs[decisionsTopic]))
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			c.recs[r.Topic] = append(c.recs[r.Topic], r)
			c.ids[r.Topic][header(r, "riskauth-event-id")] = true
		})
	}
	return c
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// metric sums a metric's samples whose labels include the given ones.
func metric(t testing.TB, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !hasLabel(m, labels[i], labels[i+1]) {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

// testSink builds a sink on a fresh registry, closed at cleanup.
func testSink(t testing.TB, cfg alert.Config) (*alert.Sink, *prometheus.Registry, *testenv.LogBuffer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	logs := &testenv.LogBuffer{}
	if cfg.AggregateWindow == 0 {
		// The delivery tests count one finding per alerting decision;
		// TestAggregation covers folding.
		cfg.AggregateWindow = -1
	}
	s, err := alert.New(cfg, alert.Deps{Metrics: alert.NewMetrics(reg),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s, reg, logs
}

// kafkaConfig is a configuration for tests: fast retries, and a produce
// timeout (testenv.Budget) that a healthy in-process cluster never
// reaches on a loaded machine. It used to be 2s: on a busy CI runner a
// produce call took longer, the lane switched to its spool, and the
// healthy-cluster tests (TestKafkaDelivery, TestSASL) found messages
// spooled instead of delivered. The outage tests do not depend on it: a
// closed broker refuses connections at once, and the dead network path of
// TestPublishNeverBlocks sets its own.
func kafkaConfig(t testing.TB, brokers []string) alert.Config {
	return alert.Config{Brokers: brokers, DecisionsTopic: decisionsTopic, SpoolDir: t.TempDir(),
		WriteTimeout: testenv.Budget, MaxAttempts: 2, RetryBackoffMin: 20 * time.Millisecond,
		RetryBackoffMax: 200 * time.Millisecond, BatchTimeout: time.Millisecond, SpoolMaxBytes: 64 << 20}
}

// checkDelivery checks that every published decision arrived at least
// once on the decisions topic, keyed by its user, each user's decisions in
// publish order (first occurrences; duplicates are allowed), and that the
// alerts topic carries every alert.
func checkDelivery(t *testing.T, p *published, c *consumed) {
	t.Helper()
	seen := map[string]bool{}
	last := map[string]int{} // user -> last publish index seen
	uids := map[string]bool{}
	for _, r := range c.recs[decisionsTopic] {
		rec, err := ocsf.ParseDecision(r.Value)
		require.NoError(t, err)
		require.Equal(t, rec.ID, header(r, "riskauth-event-id"))
		uids[rec.ID] = true
		idx, ok := p.order[rec.EvaluationID]
		require.True(t, ok, "unknown evaluation %s", rec.EvaluationID)
		require.Equal(t, p.users[rec.EvaluationID], string(r.Key), "keyed by user")
		if seen[rec.EvaluationID] {
			continue
		}
		seen[rec.EvaluationID] = true
		if prev, ok := last[string(r.Key)]; ok {
			require.Greater(t, idx, prev, "user %s: decision %d arrived after %d", r.Key, idx, prev)
		}
		last[string(r.Key)] = idx
	}
	require.Equal(t, p.n, len(seen), "every decision delivered")
	alertIDs := map[string]bool{}
	for _, r := range c.recs[alertsTopic] {
		id := header(r, "riskauth-event-id")
		require.NotEmpty(t, id)
		require.True(t, strings.Contains(string(r.Value), id), "the header id is the payload's uid")
		alertIDs[id] = true
		uids[id] = true
	}
	require.Equal(t, p.alerts(), len(alertIDs), "every alert delivered")
}
