package alert_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine/alert"
)

// TestForgetKafka: Forget produces, after everything emitted before it, a
// tombstone keyed by the user (null value) on the alerts, audit and
// decisions topics, so that a compacted topic drops the user's records.
func TestForgetKafka(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	s, _, _ := testSink(t, kafkaConfig(t, c.ListenAddrs()))
	s.Emit(&secevent.Event{Type: secevent.PasswordChanged, UserID: "u-gone", Email: "gone@example.com", Time: time.Now()})
	s.Emit(&secevent.Event{Type: secevent.UserDeleted, UserID: "u-gone", Time: time.Now()})
	s.Forget("u-gone", "gone@example.com")
	tomb := func(recs []*kgo.Record) (int, bool) {
		for i, r := range recs {
			if string(r.Key) == "u-gone" && r.Value == nil {
				return i, true
			}
		}
		return 0, false
	}
	got := consume(t, c.ListenAddrs(), func(c *consumed) bool {
		for _, topic := range []string{alertsTopic, auditTopic, decisionsTopic} {
			if _, ok := tomb(c.recs[topic]); !ok {
				return false
			}
		}
		return true
	})
	for _, topic := range []string{alertsTopic, auditTopic} {
		i, _ := tomb(got.recs[topic])
		var before int
		for _, r := range got.recs[topic][:i] {
			if string(r.Key) == "u-gone" {
				before++
			}
		}
		assert.Positive(t, before, "%s: the user's records come before the tombstone (one key, one partition)", topic)
	}
}

// TestForgetEmbedded: in the embedded mode Forget removes every line
// naming the user from the JSONL files, keeps the others', and the files
// go on taking lines.
func TestForgetEmbedded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, reg, _ := testSink(t, alert.Config{DataDir: dir})
	for _, u := range []string{"u-gone", "u-kept"} {
		s.Emit(&secevent.Event{Type: secevent.PasswordChanged, UserID: u, Email: u + "@example.com", Time: time.Now()})
	}
	s.Forget("u-gone", "u-gone@example.com")
	s.Emit(&secevent.Event{Type: secevent.PasswordChanged, UserID: "u-late", Email: "u-late@example.com", Time: time.Now()})
	require.NoError(t, s.Close(context.Background()))
	for _, f := range []string{"alerts.jsonl", "audit.jsonl"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		assert.NotContains(t, string(b), "u-gone", f)
		assert.Contains(t, string(b), "u-kept", f)
		assert.Contains(t, string(b), "u-late", f)
		assert.Equal(t, 2, strings.Count(string(b), "\n"), f)
	}
	assert.Equal(t, 2.0, metric(t, reg, "riskauth_alert_erased_lines_total"))
}
