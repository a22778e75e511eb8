package alert_test

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/require"
)

var burst = flag.Bool("burst", false, "BenchmarkProduce: publish without pacing, so the backlog goes through the spool")

// BenchmarkProduce measures messages per second through the sink into a
// 3-broker kfake cluster over TCP: real decisions (both topics), encoded
// on the worker, produced with acks=all and each codec. The clock runs
// from the first Publish until Kafka acknowledged the last message.
func BenchmarkProduce(b *testing.B) {
	for _, codec := range []string{"snappy", "lz4", "none"} {
		b.Run(codec, func(b *testing.B) { benchProduce(b, codec) })
	}
}

func benchProduce(b *testing.B, codec string) {
	cfg := kafkaConfig(b, childCluster(b))
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
	published := 0 // messages
	for i := range b.N {
		d := ds[i%len(ds)]
		sink.Publish(d)
		published++
		if ocsf.IsAlert(d) {
			published++
		}
		// Sustained throughput: keep the producer busy without a
		// backlog past the in-memory allowance, which would (rightly)
		// send the surplus through the disk spool. -burst measures that
		// path instead.
		if !*burst && i%256 == 255 {
			for float64(published)-done() > float64(cfg.QueueSize) {
				time.Sleep(200 * time.Microsecond)
			}
		}
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

// envKfakeChild makes the test binary a kfake cluster and nothing else.
const envKfakeChild = "RISKAUTH_KFAKE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envKfakeChild) == "1" {
		serveKfake()
		return
	}
	os.Exit(testenv.Main(m))
}

// serveKfake runs a 3-broker cluster, prints its addresses and serves
// until stdin closes (the parent exited or is done).
func serveKfake() {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, alertsTopic, decisionsTopic))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(strings.Join(c.ListenAddrs(), ","))
	_, _ = io.Copy(io.Discard, os.Stdin)
	c.Close()
}

// childCluster starts kfake in a child process, as a real broker would
// be: the cluster keeps every message in memory, and in this process its
// heap would make the producer's garbage collection pay for the broker's
// storage. The two processes still share the machine's cores.
func childCluster(b *testing.B) []string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envKfakeChild+"=1")
	stdin, err := cmd.StdinPipe()
	require.NoError(b, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	cmd.Stderr = os.Stderr
	require.NoError(b, cmd.Start())
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(b, err)
	return strings.Split(strings.TrimSpace(line), ",")
}
