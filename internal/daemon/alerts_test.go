package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// stuff sends a credential-stuffing wave from one address: 25 accounts,
// so the default rules block the later attempts and raise alerts.
func stuff(t *testing.T, base, key string) {
	t.Helper()
	for i := range 25 {
		code, body := post(t, base+"/v1/risk/evaluate", key, fmt.Sprintf(
			`{"event":"login","user_id":"victim-%02d","ip":"203.0.113.9","user_agent":"python-requests/2.32.3"}`, i))
		require.Equal(t, http.StatusOK, code, body)
	}
}

// TestAlertsEmbedded: with no brokers, alerts land in alerts.jsonl in the
// data dir, one OCSF Detection Finding per line, flushed by shutdown.
func TestAlertsEmbedded(t *testing.T) {
	dir := t.TempDir()
	base, srv := start(t, "", map[string]string{"RISKAUTH_DATA_DIR": dir, "RISKAUTH_API_KEYS": "test-key-0123456789"})
	stuff(t, base, "test-key-0123456789")
	require.NoError(t, srv.Sink.Close(context.Background()))

	f, err := os.Open(filepath.Join(dir, "alerts.jsonl"))
	require.NoError(t, err)
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		var m struct {
			ClassUID int  `json:"class_uid"`
			IsAlert  bool `json:"is_alert"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		assert.Equal(t, 2004, m.ClassUID)
		assert.True(t, m.IsAlert)
	}
	assert.Positive(t, n, "the stuffing wave raised alerts")
	assert.NoFileExists(t, filepath.Join(dir, "decisions.jsonl"), "decision events are opt-in")
}

// TestAlertsKafka: configured through the environment as an operator
// would, the server produces alerts and decision events to a real Kafka
// protocol peer (kfake, three brokers), keyed by user.
func TestAlertsKafka(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "riskauth.alerts", "riskauth.audit", "riskauth.decisions"))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	addrs := cluster.ListenAddrs()
	base, srv := start(t, "", map[string]string{
		"RISKAUTH_DATA_DIR": t.TempDir(), "RISKAUTH_API_KEYS": "test-key-0123456789",
		"RISKAUTH_KAFKA_BROKERS": addrs[0] + "," + addrs[1], "RISKAUTH_KAFKA_DECISIONS_TOPIC": "riskauth.decisions",
	})
	stuff(t, base, "test-key-0123456789")
	require.NoError(t, srv.Sink.Close(context.Background()))

	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("riskauth.alerts", "riskauth.decisions"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	counts := map[string]int{}
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience)
	defer cancel()
	// Both topics are read to the end: the decisions alone may all arrive
	// in fetches before any alert does.
	for (counts["riskauth.decisions"] < 25 || counts["riskauth.alerts"] == 0) && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			counts[r.Topic]++
			var m struct {
				User struct {
					UID string `json:"uid"`
				} `json:"user"`
				Evidences []struct {
					User struct {
						UID string `json:"uid"`
					} `json:"user"`
				} `json:"evidences"`
			}
			require.NoError(t, json.Unmarshal(r.Value, &m))
			uid := m.User.UID
			if len(m.Evidences) > 0 {
				uid = m.Evidences[0].User.UID
			}
			assert.Equal(t, uid, string(r.Key), "messages are keyed by user id")
		})
	}
	assert.Equal(t, 25, counts["riskauth.decisions"], "one decision event per evaluation")
	assert.Positive(t, counts["riskauth.alerts"])
}
