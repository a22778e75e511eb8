package alert_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestKafkaDelivery(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	sink, reg, _ := testSink(t, kafkaConfig(t, c.ListenAddrs()))
	e := newEngine(t, sink)
	p := newPublished()
	p.evaluate(t, e, 0, 300, 30)
	sink.Emit(&secevent.Event{Type: secevent.MFAEnrolled, UserID: "user-1", IP: netip.MustParseAddr("192.0.2.1")})
	p.alert["mfa"] = true // one more message on the alerts topic
	require.NoError(t, sink.Close(context.Background()))
	require.Positive(t, p.alerts())

	got := consume(t, c.ListenAddrs(), func(c *consumed) bool {
		return c.distinct(decisionsTopic) >= p.n && c.distinct(alertsTopic) >= p.alerts()
	})
	checkDelivery(t, p, got)
	assert.Len(t, got.recs[decisionsTopic], p.n, "no duplicates when Kafka is healthy")
	var mfa int
	for _, r := range got.recs[alertsTopic] {
		if strings.Contains(string(r.Value), "mfa") && string(r.Key) == "user-1" {
			mfa++
		}
	}
	assert.Equal(t, 1, mfa, "the security event is on the alerts topic, keyed by user")
	assert.Equal(t, float64(p.n), metric(t, reg, "riskauth_alert_messages_produced_total", "topic", decisionsTopic))
	assert.Equal(t, float64(p.alerts()), metric(t, reg, "riskauth_alert_messages_produced_total", "topic", alertsTopic))
	assert.Zero(t, metric(t, reg, "riskauth_alert_messages_spooled_total"))
	assert.Zero(t, metric(t, reg, "riskauth_alert_messages_dropped_total"))
}

// TestBrokerOutage stops the cluster mid-stream, keeps publishing, and
// brings it back on the same ports with the same data: every decision
// arrives, in per-user order, through the spool.
func TestBrokerOutage(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	c1 := cluster(t, kfake.DataDir(dataDir))
	addrs := c1.ListenAddrs()
	cfg := kafkaConfig(t, addrs)
	sink, reg, logs := testSink(t, cfg)
	e := newEngine(t, sink)
	p := newPublished()

	p.evaluate(t, e, 0, 200, 25)
	c1.Close()
	p.evaluate(t, e, 200, 300, 25)
	// Each lane finds the outage on its own next write: wait for all of
	// them rather than look once (a loaded machine lets one lag).
	testenv.Eventually(t, "every topic spooling", func() bool {
		for _, ts := range sink.Status().Topics {
			if ts.Mode != "spooling" {
				return false
			}
		}
		return metric(t, reg, "riskauth_alert_messages_spooled_total", "topic", decisionsTopic) > 0
	})
	p.evaluate(t, e, 500, 100, 25)

	c2 := cluster(t, kfake.DataDir(dataDir), kfake.Ports(ports(t, addrs)...))
	p.evaluate(t, e, 600, 200, 25)
	testenv.Eventually(t, "the spools to drain", func() bool {
		for _, ts := range sink.Status().Topics {
			if ts.Mode != "direct" || ts.SpoolRecords > 0 {
				return false
			}
		}
		return true
	})
	require.NoError(t, sink.Close(context.Background()))

	got := consume(t, c2.ListenAddrs(), func(c *consumed) bool {
		return c.distinct(decisionsTopic) >= p.n && c.distinct(alertsTopic) >= p.alerts()
	})
	checkDelivery(t, p, got)
	for _, topic := range []string{alertsTopic, decisionsTopic} {
		spooled := metric(t, reg, "riskauth_alert_messages_spooled_total", "topic", topic)
		assert.Positive(t, spooled, topic)
		assert.Equal(t, spooled, metric(t, reg, "riskauth_alert_messages_drained_total", "topic", topic), topic)
		assert.Zero(t, metric(t, reg, "riskauth_alert_spool_bytes", "topic", topic))
	}
	assert.Zero(t, metric(t, reg, "riskauth_alert_messages_dropped_total"))
	assert.Positive(t, metric(t, reg, "riskauth_alert_kafka_errors_total"))
	assert.Contains(t, logs.String(), "spooling to disk")
	assert.Contains(t, logs.String(), "spool drained")
}

// TestRestartWithSpool closes the sink while Kafka is down and starts a
// new one on the same spool once Kafka is back.
func TestRestartWithSpool(t *testing.T) {
	t.Parallel()
	c1 := cluster(t)
	addrs := c1.ListenAddrs()
	c1.Close()
	cfg := kafkaConfig(t, addrs)
	sink, _, _ := testSink(t, cfg)
	e := newEngine(t, sink)
	p := newPublished()
	p.evaluate(t, e, 0, 60, 10)
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Budget)
	defer cancel()
	require.NoError(t, sink.Close(ctx))
	require.NoError(t, sink.Close(ctx), "Close is idempotent")
	sink.Publish(&engine.Decision{}) // after Close: counted, not a panic

	c2 := cluster(t, kfake.Ports(ports(t, addrs)...))
	sink2, reg2, logs := testSink(t, cfg)
	testenv.Eventually(t, "the previous run's spool to drain", func() bool {
		return metric(t, reg2, "riskauth_alert_messages_drained_total", "topic", decisionsTopic) >= float64(p.n)
	})
	require.NoError(t, sink2.Close(context.Background()))
	assert.Contains(t, logs.String(), "spooled by a previous run")
	got := consume(t, c2.ListenAddrs(), func(c *consumed) bool {
		return c.distinct(decisionsTopic) >= p.n && c.distinct(alertsTopic) >= p.alerts()
	})
	checkDelivery(t, p, got)
}

// downBrokers returns an address where nothing listens: produce calls fail
// at once.
func downBrokers(t testing.TB) []string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return []string{addr}
}

// blackhole accepts connections and never answers: produce calls hang
// until their timeout, like a broker behind a dead network path.
func blackhole(t testing.TB) []string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return []string{ln.Addr().String()}
}

func TestSpoolFull(t *testing.T) {
	t.Parallel()
	cfg := kafkaConfig(t, downBrokers(t))
	cfg.SpoolMaxBytes = 1 << 20
	sink, reg, logs := testSink(t, cfg)
	e := newEngine(t, nil)
	var ds []*engine.Decision
	for i := range 20 {
		d, err := e.Evaluate(context.Background(), event(i, 20))
		require.NoError(t, err)
		ds = append(ds, d)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			sink.Publish(ds[i%len(ds)])
		}
	}()
	select {
	case <-done:
	case <-time.After(testenv.Patience):
		t.Fatal("Publish blocked")
	}
	testenv.Eventually(t, "drops", func() bool {
		return metric(t, reg, "riskauth_alert_messages_dropped_total", "topic", decisionsTopic, "reason", "spool_full") > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Budget)
	defer cancel()
	require.NoError(t, sink.Close(ctx))
	assert.Contains(t, logs.String(), "SPOOL FULL")
	var full int
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "SPOOL FULL") && strings.Contains(l, "topic="+decisionsTopic) {
			full++
		}
	}
	assert.Equal(t, 1, full, "rate-limited, per topic")
	spooled := metric(t, reg, "riskauth_alert_messages_spooled_total", "topic", decisionsTopic)
	dropped := metric(t, reg, "riskauth_alert_messages_dropped_total", "topic", decisionsTopic)
	assert.Equal(t, 2000.0, spooled+dropped, "every decision is either spooled or counted as dropped")
	assert.LessOrEqual(t, metric(t, reg, "riskauth_alert_spool_bytes", "topic", decisionsTopic), float64(1<<20))
}

// TestPublishNeverBlocks fills a tiny queue while every produce call
// hangs on a dead network path: Publish must stay fast and lose nothing.
// A produce call would hang for an hour (WriteTimeout), so a Publish or a
// Close that waited for Kafka would take that long: the bounds below only
// need to be far shorter than an hour, not tight, to tell, and a loaded
// machine cannot reach them.
func TestPublishNeverBlocks(t *testing.T) {
	t.Parallel()
	cfg := kafkaConfig(t, blackhole(t))
	cfg.QueueSize = 4
	cfg.BatchSize = 8
	cfg.WriteTimeout = time.Hour // far longer than the test: it must not matter
	sink, reg, _ := testSink(t, cfg)
	e := newEngine(t, nil)
	d, err := e.Evaluate(context.Background(), event(0, 1))
	require.NoError(t, err)
	require.True(t, ocsf.IsAlert(d))
	const n = 3000
	var worst time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			t0 := time.Now()
			sink.Publish(d)
			worst = max(worst, time.Since(t0))
		}
	}()
	select {
	case <-done:
	case <-time.After(testenv.Patience):
		t.Fatal("Publish blocked")
	}
	assert.Less(t, worst, testenv.Budget, "a Publish waited for Kafka")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	t0 := time.Now()
	require.NoError(t, sink.Close(ctx))
	assert.Less(t, time.Since(t0), testenv.Budget, "Close honours its context")
	for _, topic := range []string{alertsTopic, decisionsTopic} {
		assert.Equal(t, float64(n), metric(t, reg, "riskauth_alert_messages_spooled_total", "topic", topic), topic)
		assert.Positive(t, metric(t, reg, "riskauth_alert_messages_spooled_total", "topic", topic, "reason", "kafka_slow")+
			metric(t, reg, "riskauth_alert_messages_spooled_total", "topic", topic, "reason", "shutdown"), topic)
	}
	assert.Zero(t, metric(t, reg, "riskauth_alert_messages_dropped_total"))
	assert.Zero(t, metric(t, reg, "riskauth_alert_messages_produced_total"))
}

func TestJSONL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sink, reg, _ := testSink(t, alert.Config{DataDir: dir, DecisionsTopic: decisionsTopic})
	e := newEngine(t, sink)
	p := newPublished()
	p.evaluate(t, e, 0, 100, 10)
	sink.Emit(&secevent.Event{Type: secevent.Lockout, UserID: "user-3"})
	require.NoError(t, sink.Close(context.Background()))
	assert.Equal(t, "jsonl", sink.Status().Transport)

	lines := func(name string) [][]byte {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		defer f.Close()
		var out [][]byte
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
		require.NoError(t, sc.Err())
		return out
	}
	uids := map[string]bool{}
	for _, l := range lines("decisions.jsonl") {
		rec, err := ocsf.ParseDecision(l)
		require.NoError(t, err)
		_, ok := p.order[rec.EvaluationID]
		require.True(t, ok)
		uids[rec.ID] = true
	}
	assert.Len(t, uids, p.n)
	al := lines("alerts.jsonl")
	assert.Len(t, al, p.alerts()+1)
	for _, l := range al {
		var v struct {
			Metadata struct{ UID string } `json:"metadata"`
		}
		require.NoError(t, json.Unmarshal(l, &v))
		require.NotEmpty(t, v.Metadata.UID)
		require.False(t, uids[v.Metadata.UID], "unique ids")
		uids[v.Metadata.UID] = true
	}
	assert.Equal(t, float64(p.n), metric(t, reg, "riskauth_alert_messages_produced_total", "topic", decisionsTopic))
	assert.Zero(t, metric(t, reg, "riskauth_alert_messages_dropped_total"))
	_, err := os.Stat(filepath.Join(dir, "spool"))
	assert.True(t, os.IsNotExist(err), "nothing is spooled in the embedded mode")
}

func TestJSONLDecisionsOffByDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sink, _, _ := testSink(t, alert.Config{DataDir: dir})
	e := newEngine(t, sink)
	newPublished().evaluate(t, e, 0, 10, 10)
	require.NoError(t, sink.Close(context.Background()))
	_, err := os.Stat(filepath.Join(dir, "decisions.jsonl"))
	assert.True(t, os.IsNotExist(err))
	b, err := os.ReadFile(filepath.Join(dir, "alerts.jsonl"))
	require.NoError(t, err)
	assert.NotEmpty(t, b)
}

func TestSASL(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			c := cluster(t, kfake.EnableSASL(), kfake.Superuser(mech, "riskauth", "s3cret,=x"))
			cfg := kafkaConfig(t, c.ListenAddrs())
			cfg.SASL = &alert.SASLConfig{Mechanism: strings.ToLower(mech), Username: "riskauth", Password: "s3cret,=x"}
			sink, reg, _ := testSink(t, cfg)
			e := newEngine(t, sink)
			newPublished().evaluate(t, e, 0, 5, 5)
			require.NoError(t, sink.Close(context.Background()))
			assert.Equal(t, 5.0, metric(t, reg, "riskauth_alert_messages_produced_total", "topic", decisionsTopic))
			assert.Zero(t, metric(t, reg, "riskauth_alert_messages_spooled_total"))
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		t.Parallel()
		c := cluster(t, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "riskauth", "right"))
		cfg := kafkaConfig(t, c.ListenAddrs())
		cfg.SASL = &alert.SASLConfig{Mechanism: "scram-sha-256", Username: "riskauth", Password: "wrong"}
		sink, reg, _ := testSink(t, cfg)
		e := newEngine(t, sink)
		newPublished().evaluate(t, e, 0, 5, 5)
		testenv.Eventually(t, "spooling", func() bool {
			return metric(t, reg, "riskauth_alert_messages_spooled_total", "topic", decisionsTopic) == 5
		})
		assert.Zero(t, metric(t, reg, "riskauth_alert_messages_produced_total"))
	})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  alert.Config
		want []string // substrings of the error; none means valid
	}{
		{"embedded", alert.Config{DataDir: "/tmp/x"}, nil},
		{"kafka", alert.Config{Brokers: []string{"k1:9092", "k2:9092"}, DataDir: "/tmp/x", DecisionsTopic: "d"}, nil},
		{"embedded without data dir", alert.Config{}, []string{"data_dir is required"}},
		{"kafka without spool", alert.Config{Brokers: []string{"k1:9092"}}, []string{"spool_dir (or data_dir) is required"}},
		{"bad broker", alert.Config{Brokers: []string{"k1"}, DataDir: "/x"}, []string{`brokers[0] "k1": want host:port`}},
		{"bad topic", alert.Config{DataDir: "/x", AlertsTopic: "a b"}, []string{`alerts_topic "a b"`}},
		{"same topics", alert.Config{DataDir: "/x", DecisionsTopic: alert.DefaultAlertsTopic}, []string{"must differ from alerts_topic"}},
		{"compression", alert.Config{DataDir: "/x", Compression: "brotli"}, []string{`compression "brotli": want none, gzip, snappy, lz4 or zstd`}},
		{"numbers", alert.Config{DataDir: "/x", QueueSize: -1, BatchSize: -2, MaxAttempts: -1, SpoolMaxBytes: 10},
			[]string{"queue_size -1", "batch_size -2", "max_attempts -1", "spool_max_bytes 10: want at least 1 MiB"}},
		{"backoff", alert.Config{DataDir: "/x", RetryBackoffMin: time.Second, RetryBackoffMax: time.Millisecond},
			[]string{"retry_backoff_max 1ms: want at least retry_backoff_min (1s)"}},
		{"sync", alert.Config{DataDir: "/x", SpoolSync: "sometimes"}, []string{`spool_sync "sometimes"`}},
		{"sasl mechanism", alert.Config{DataDir: "/x", SASL: &alert.SASLConfig{Mechanism: "gssapi", Username: "u", Password: "p"}},
			[]string{`mechanism "gssapi": want plain, scram-sha-256 or scram-sha-512`}},
		{"sasl credentials", alert.Config{DataDir: "/x", SASL: &alert.SASLConfig{Mechanism: "plain", Username: "u"}},
			[]string{"username and password are required"}},
		{"tls key without cert", alert.Config{DataDir: "/x", TLS: &alert.TLSConfig{KeyFile: "k.pem"}},
			[]string{"cert_file and key_file go together"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			if tc.cfg.SASL != nil {
				assert.NotContains(t, err.Error(), "p\"", "no password in errors")
			}
		})
	}
}

func TestNewFailsCleanly(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err := alert.New(alert.Config{DataDir: file}, alert.Deps{})
	require.Error(t, err)
	_, err = alert.New(alert.Config{Brokers: []string{"127.0.0.1:1"}, SpoolDir: file}, alert.Deps{})
	require.Error(t, err)
	_, err = alert.New(alert.Config{Brokers: []string{"127.0.0.1:1"}, DataDir: t.TempDir(),
		TLS: &alert.TLSConfig{CAFile: file}}, alert.Deps{})
	require.ErrorContains(t, err, "no PEM certificates")
}

// block is an alerting decision of rule from ip at t, as the engine makes
// it (the sink reads Time, Reasons, Keys and Event).
func block(rule, user, ip string, t time.Time) *engine.Decision {
	return &engine.Decision{EvaluationID: uuid.Must(uuid.NewV7()).String(), Action: risk.Block, Score: 100, Time: t,
		Reasons: []engine.Reason{{Rule: rule, Description: rule, Action: "block", Alert: "high"}},
		Alert:   risk.SeverityHigh, Keys: engine.Keys{User: user, IP: ip},
		Event: &engine.Event{Kind: engine.KindLogin, UserID: user, IP: netip.MustParseAddr(ip), Time: t}}
}

// TestAggregation: a wave of alerts from one rule and source becomes its
// first finding, sent at once, and one finding with a count; other sources
// and later windows stay apart; shutdown reports what was folded.
func TestAggregation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sink, reg, _ := testSink(t, alert.Config{DataDir: dir, AggregateWindow: time.Hour})
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for i := range 50 { // one address, fifty accounts, within the window
		sink.Publish(block("credential-stuffing-ip", fmt.Sprintf("victim-%d", i), "203.0.113.9", t0.Add(time.Duration(i)*time.Second)))
	}
	sink.Publish(block("credential-stuffing-ip", "victim-x", "198.51.100.1", t0.Add(10*time.Second))) // another source
	sink.Publish(block("impossible-travel", "victim-0", "203.0.113.9", t0.Add(20*time.Second)))       // another rule
	sink.Publish(block("credential-stuffing-ip", "victim-late", "203.0.113.9", t0.Add(2*time.Hour)))  // next window
	sink.Emit(&secevent.Event{Type: secevent.Lockout, UserID: "victim-1", Time: t0})                  // never folded
	require.NoError(t, sink.Close(context.Background()))

	f, err := os.Open(filepath.Join(dir, "alerts.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	type finding struct {
		ClassUID  int   `json:"class_uid"`
		Count     int   `json:"count"`
		StartTime int64 `json:"start_time"`
		EndTime   int64 `json:"end_time"`
		Info      struct {
			Analytic struct {
				UID string `json:"uid"`
			} `json:"analytic"`
		} `json:"finding_info"`
		Evidences []struct {
			Src struct {
				IP string `json:"ip"`
			} `json:"src_endpoint"`
		} `json:"evidences"`
	}
	var got []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		var m finding
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		require.Equal(t, 2004, m.ClassUID)
		require.NotEmpty(t, m.Evidences)
		line := m.Info.Analytic.UID + " " + m.Evidences[0].Src.IP
		if m.Count > 0 {
			line += fmt.Sprintf(" x%d %s..%s", m.Count, time.UnixMilli(m.StartTime).UTC().Format("15:04:05"),
				time.UnixMilli(m.EndTime).UTC().Format("15:04:05"))
		}
		got = append(got, line)
	}
	assert.ElementsMatch(t, []string{
		"credential-stuffing-ip 203.0.113.9",                        // the first, at once
		"credential-stuffing-ip 198.51.100.1",                       // another source
		"impossible-travel 203.0.113.9",                             // another rule
		"credential-stuffing-ip 203.0.113.9 x49 12:00:01..12:00:49", // the rest of the wave, when the next window opened
		"credential-stuffing-ip 203.0.113.9",                        // the next window's first
		"riskauth:lockout ",                                         // security events are never folded
	}, got)
	assert.Equal(t, 49.0, metric(t, reg, "riskauth_alert_aggregated_total"))
	assert.Zero(t, metric(t, reg, "riskauth_alert_messages_dropped_total"))
}

// TestAggregationSweep: a folded wave is reported when its window has
// passed on the wall clock, without waiting for another alert or Close.
func TestAggregationSweep(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sink, _, _ := testSink(t, alert.Config{DataDir: dir, AggregateWindow: 50 * time.Millisecond})
	now := time.Now()
	for i := range 5 {
		sink.Publish(block("credential-stuffing-ip", fmt.Sprintf("v%d", i), "203.0.113.9", now))
	}
	testenv.Eventually(t, "the summary finding", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "alerts.jsonl"))
		return err == nil && bytes.Contains(b, []byte(`"count":4`))
	})
}
