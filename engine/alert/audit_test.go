package alert_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuditKafka sends the audit trail of a real rule source (candidate,
// promote, rollback) through the sink to a kfake cluster: Entity
// Management events on the alerts topic, in order, under one key.
func TestAuditKafka(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	sink, _, _ := testSink(t, kafkaConfig(t, c.ListenAddrs()))

	path := filepath.Join(t.TempDir(), "rules.yaml")
	require.NoError(t, os.WriteFile(path, rules.DefaultFile, 0o644))
	schema, err := rules.NewSchema(engine.CounterNames(engine.DefaultCounters()))
	require.NoError(t, err)
	src, err := rules.NewSource(rules.SourceConfig{Path: path, Schema: schema, OnAudit: func(c rules.Change) { sink.Audit(ocsf.RuleChange(c)) }})
	require.NoError(t, err)
	v1 := src.Current().Version
	_, err = src.SetCandidate(append([]byte("# candidate\n"), rules.DefaultFile...), "alice")
	require.NoError(t, err)
	v2, err := src.Promote(nil, v1, "alice")
	require.NoError(t, err)
	_, err = src.Rollback(v2.Version, "bob")
	require.NoError(t, err)
	require.NoError(t, sink.Close(context.Background()))

	got := consume(t, c.ListenAddrs(), func(c *consumed) bool { return c.distinct(alertsTopic) >= 3 })
	var actions []string
	for _, r := range got.recs[alertsTopic] {
		assert.Equal(t, ocsf.RuleChangeKey, string(r.Key))
		var m struct {
			ClassUID int `json:"class_uid"`
			Actor    struct {
				User struct {
					Name string `json:"name"`
				} `json:"user"`
			} `json:"actor"`
			Entity struct {
				Version string `json:"version"`
			} `json:"entity"`
			Unmapped struct {
				Riskauth struct {
					Action string `json:"action"`
				} `json:"riskauth"`
			} `json:"unmapped"`
		}
		require.NoError(t, json.Unmarshal(r.Value, &m))
		assert.Equal(t, 3004, m.ClassUID)
		actions = append(actions, m.Unmapped.Riskauth.Action+":"+m.Actor.User.Name)
	}
	assert.Equal(t, []string{"candidate_set:alice", "promote:alice", "rollback:bob"}, actions)
}
