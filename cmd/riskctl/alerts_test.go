package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// tailIdle is the -idle of the tail commands below: a bound on a wait for
// messages that are there, never what a test checks.
var tailIdle = testenv.Patience.String()

// TestAlertsTail runs the command against a real Kafka protocol peer
// (kfake, three brokers): it must read what a producer wrote, in order,
// print it readably or as raw JSON, and stop after -n messages.
func TestAlertsTail(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(1, "riskauth.alerts"))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	brokers := strings.Join(cluster.ListenAddrs(), ",")

	msgs := []string{
		`{"time":1795968000000,"class_name":"Detection Finding","severity":"High","user":{"uid":"alice"},` +
			`"src_endpoint":{"ip":"203.0.113.7","location":{"country":"DE","city":"Berlin"},"autonomous_system":{"number":3320}},` +
			`"finding_info":{"title":"many accounts tried from one address"},` +
			`"unmapped":{"riskauth":{"decision":"block","score":95,"reasons":[{"rule":"credential-stuffing-ip"},{"rule":"headless-client"}]}}}`,
		`{"time":1795968060000,"class_name":"Account Change","activity_name":"MFA Factor Disable","severity":"Medium",` +
			`"message":"TOTP factor removed","user":{"uid":"bob","name":"bob@example.com"}}`,
		`not json`,
	}
	produce(t, cluster.ListenAddrs(), "riskauth.alerts", msgs)

	t.Run("readable", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"alerts", "tail", "-brokers", brokers, "-group", "g1", "-from-beginning", "-n", "3", "-idle", tailIdle}, &out, &errOut)
		require.Equal(t, 0, code, errOut.String())
		assert.Equal(t, strings.Join([]string{
			"2026-11-29T16:00:00Z HIGH          block        score=95   user=alice ip=203.0.113.7 (DE, Berlin, AS3320) rules=credential-stuffing-ip,headless-client — many accounts tried from one address",
			"2026-11-29T16:01:00Z MEDIUM        user=bob — TOTP factor removed",
			`(not JSON: invalid character 'o' in literal null (expecting 'u')) "not json"`,
		}, "\n")+"\n", out.String())
	})
	t.Run("json", func(t *testing.T) {
		var out, errOut bytes.Buffer
		code := run([]string{"alerts", "tail", "-brokers", brokers, "-group", "g2", "-from-beginning", "-json", "-n", "2", "-idle", tailIdle}, &out, &errOut)
		require.Equal(t, 0, code, errOut.String())
		assert.Equal(t, msgs[0]+"\n"+msgs[1]+"\n", out.String())
	})
	t.Run("group continues where it stopped", func(t *testing.T) {
		var out, errOut bytes.Buffer
		// -n 1: the first message the group reads must be the third. (It
		// ran until 3s without a message, which a loaded machine reached
		// before the group had rejoined.)
		code := run([]string{"alerts", "tail", "-brokers", brokers, "-group", "g2", "-json", "-n", "1", "-idle", tailIdle}, &out, &errOut)
		require.Equal(t, 0, code, errOut.String())
		assert.Equal(t, msgs[2]+"\n", out.String())
	})
	t.Run("brokers and topic from the configuration file", func(t *testing.T) {
		// riskauthd's production file: the tail reads only its alerts
		// section, so the server's secrets (absent here) are not asked for.
		cfg := filepath.Join(t.TempDir(), "riskauth.yaml")
		require.NoError(t, os.WriteFile(cfg, []byte("env: production\nalerts:\n  brokers: ["+brokers+"]\n  alerts_topic: riskauth.alerts\n"), 0o600))
		t.Setenv("RISKAUTH_KAFKA_BROKERS", "")
		var out, errOut bytes.Buffer
		code := run([]string{"alerts", "tail", "-config", cfg, "-group", "g3", "-from-beginning", "-json", "-n", "1", "-idle", tailIdle}, &out, &errOut)
		require.Equal(t, 0, code, errOut.String())
		assert.Equal(t, msgs[0]+"\n", out.String())
	})
	t.Run("invalid configuration file", func(t *testing.T) {
		cfg := filepath.Join(t.TempDir(), "riskauth.yaml")
		require.NoError(t, os.WriteFile(cfg, []byte("alerts:\n  brokers: [no-port]\n"), 0o600))
		var out, errOut bytes.Buffer
		assert.Equal(t, 2, run([]string{"alerts", "tail", "-config", cfg}, &out, &errOut))
		assert.Contains(t, errOut.String(), `brokers[0] "no-port": want host:port`)
	})
	t.Run("no brokers", func(t *testing.T) {
		t.Setenv("RISKAUTH_KAFKA_BROKERS", "")
		t.Setenv("RISKAUTH_CONFIG", "")
		var out, errOut bytes.Buffer
		assert.Equal(t, 2, run([]string{"alerts", "tail"}, &out, &errOut))
		assert.Contains(t, errOut.String(), "no brokers")
	})
	t.Run("bad sasl mechanism", func(t *testing.T) {
		var out, errOut bytes.Buffer
		assert.Equal(t, 2, run([]string{"alerts", "tail", "-brokers", brokers, "-sasl-mechanism", "GSSAPI"}, &out, &errOut))
		assert.Contains(t, errOut.String(), `sasl mechanism "GSSAPI"`)
	})
}

func produce(t *testing.T, addrs []string, topic string, values []string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience)
	defer cancel()
	for _, v := range values {
		require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte(v)}).FirstErr())
	}
}

// TestAlertsTailReadsRealMessages tails the ocsf package's golden messages
// (its tests keep them equal to what the encoder writes), so the readable
// line follows the real field layout of every message kind.
func TestAlertsTailReadsRealMessages(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(1, "riskauth.alerts"))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	var msgs []string
	for _, name := range []string{"detection-finding", "account-change", "security-finding", "authentication"} {
		raw, err := os.ReadFile("../../engine/alert/ocsf/testdata/" + name + ".golden.json")
		require.NoError(t, err)
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, raw))
		msgs = append(msgs, compact.String())
	}
	produce(t, cluster.ListenAddrs(), "riskauth.alerts", msgs)
	var out, errOut bytes.Buffer
	code := run([]string{"alerts", "tail", "-brokers", strings.Join(cluster.ListenAddrs(), ","), "-group", "real",
		"-from-beginning", "-n", "4", "-idle", tailIdle}, &out, &errOut)
	require.Equal(t, 0, code, errOut.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 4)
	assert.Contains(t, lines[0], "HIGH")
	assert.Contains(t, lines[0], "block")
	assert.Contains(t, lines[0], "user=u-42 ip=192.0.2.1 (GB, London, AS64496)")
	assert.Contains(t, lines[0], "rules=credential-stuffing-ip,new-country,automation-client")
	assert.Contains(t, lines[1], "user=u-42 ip=2001:db8:1::5")
	assert.Contains(t, lines[1], "second factor enrolled")
	for _, l := range lines {
		assert.NotContains(t, l, "(not JSON", l)
	}
}
