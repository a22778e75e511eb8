package alert_test

import (
	"context"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/stretchr/testify/require"
)

// BenchmarkProduce measures messages per second through the sink into a
// 3-broker kfake cluster over TCP: real decisions (both topics), encoded
// on the worker, produced with acks=all and snappy. The clock runs from
// the first Publish until Kafka acknowledged the last message.
func BenchmarkProduce(b *testing.B) {
	for _, codec := range []string{"snappy", "lz4", "none"} {
		b.Run(codec, func(b *testing.B) { benchProduce(b, codec) })
	}
}

func benchProduce(b *testing.B, codec string) {
	c := cluster(b)
	cfg := kafkaConfig(b, c.ListenAddrs())
	cfg.Compression = codec
	cfg.SpoolMaxBytes = 1 << 30
	sink, reg, _ := testSink(b, cfg)
	e := newEngine(b, nil)
	var ds []*engine.Decision
	perRound := 0
	for i := range 256 {
		d, err := e.Evaluate(context.Background(), event(i, 64))
		require.NoError(b, err)
		ds = append(ds, d)
		perRound++
		if ocsf.IsAlert(d) {
			perRound++
		}
	}
	// Messages for b.N decisions: every decision, plus the alerts.
	want := 0
	for i := range b.N {
		want++
		if ocsf.IsAlert(ds[i%len(ds)]) {
			want++
		}
	}
	done := func() float64 {
		return metric(b, reg, "riskauth_alert_messages_produced_total") + metric(b, reg, "riskauth_alert_messages_dropped_total")
	}
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	for i := range b.N {
		sink.Publish(ds[i%len(ds)])
	}
	deadline := time.Now().Add(2 * time.Minute)
	for done() < float64(want) {
		if time.Now().After(deadline) {
			b.Fatalf("only %v of %d messages acknowledged", done(), want)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(want)/elapsed.Seconds(), "msgs/s")
	require.Zero(b, metric(b, reg, "riskauth_alert_messages_dropped_total"))
	b.ReportMetric(metric(b, reg, "riskauth_alert_messages_spooled_total"), "spooled")
	b.ReportMetric(metric(b, reg, "riskauth_alert_queue_overflow_total"), "overflows")
}
