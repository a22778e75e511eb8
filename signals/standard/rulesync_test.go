package standard_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/standard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// auditLog records the rule changes audited, by instance.
type auditLog struct {
	mu      sync.Mutex
	changes []string
}

func (l *auditLog) hook(name string) func(rules.Change) {
	return func(c rules.Change) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.changes = append(l.changes, name+" "+c.Action+" "+c.NewVersion)
	}
}

func (l *auditLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.changes...)
}

// instance starts an engine assembly on its own rule file (content src,
// modified at mtime) sharing Redis under prefix.
func instance(t *testing.T, redisURL, prefix string, src []byte, mtime time.Time, audit func(rules.Change)) *standard.Assembly {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(file, src, 0o644))
	require.NoError(t, os.Chtimes(file, mtime, mtime))
	cfg := standard.Config{DataDir: dir}
	cfg.Redis.URL = redisURL
	cfg.Redis.Prefix = prefix
	cfg.Rules.File = file
	cfg.Rules.ShadowFile = filepath.Join(dir, "candidate.yaml")
	cfg.Rules.Poll = time.Hour // the subscription, not the poll, must carry the changes
	a, err := standard.New(cfg, standard.WithRuleAudit(audit), standard.WithSignals())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	a.Start(ctx)
	t.Cleanup(func() {
		cancel()
		require.NoError(t, a.Close())
	})
	return a
}

// version returns the version src has when compiled by a.
func version(t *testing.T, a *standard.Assembly, src []byte) string {
	t.Helper()
	rs, err := a.Rules.Compile("v.yaml", src)
	require.NoError(t, err)
	return rs.Version
}

// TestRuleSync: a promote, a candidate and a rollback made on one
// instance become active on the others through Redis, written to their
// rule files, and audited once; an instance started later joins the
// shared rule sets. On a standalone Redis and on a Cluster.
func TestRuleSync(t *testing.T) {
	for _, tc := range []struct{ name, url string }{
		{"standalone", "redis://" + testenv.RedisAddr(t) + "/0"},
		{"cluster", strings.Join(testenv.RedisCluster(t), ",")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := fmt.Sprintf("ra-rulesync-%d:", time.Now().UnixNano())
			v1 := rules.DefaultFile
			v2 := append(append([]byte(nil), v1...), "\n# v2\n"...)
			cand := append(append([]byte(nil), v1...), "\n# candidate\n"...)
			past := time.Now().Add(-time.Hour)
			var log auditLog
			a := instance(t, tc.url, prefix, v1, past, log.hook("a"))
			b := instance(t, tc.url, prefix, v1, past, log.hook("b"))
			ver1, ver2, verC := version(t, a, v1), version(t, a, v2), version(t, a, cand)

			_, err := a.Rules.Promote(v2, ver1, "alice")
			require.NoError(t, err)
			testenv.Eventually(t, "the promote active on b", func() bool { return b.Rules.Current().Version == ver2 })
			onDisk, err := os.ReadFile(b.Rules.Status().Path)
			require.NoError(t, err)
			assert.Equal(t, v2, onDisk, "written to b's rule file")
			assert.Equal(t, ver1, b.Rules.Status().History[0].Version, "b can roll back too")

			_, err = b.Rules.SetCandidate(cand, "bob")
			require.NoError(t, err)
			testenv.Eventually(t, "the candidate on a", func() bool {
				c := a.Rules.Candidate()
				return c != nil && c.Version == verC
			})

			// An instance started now, on an older file, joins.
			c := instance(t, tc.url, prefix, v1, past, log.hook("c"))
			assert.Equal(t, ver2, c.Rules.Current().Version, "a new instance starts on the shared rule set")
			require.NotNil(t, c.Rules.Candidate())

			_, err = b.Rules.Rollback(ver2, "bob")
			require.NoError(t, err)
			for name, x := range map[string]*standard.Assembly{"a": a, "c": c} {
				testenv.Eventually(t, "the rollback active on "+name, func() bool { return x.Rules.Current().Version == ver1 })
			}
			assert.Empty(t, a.Rules.Status().History, "a's history follows the rollback")

			_, err = a.Rules.ClearCandidate("alice")
			require.NoError(t, err)
			testenv.Eventually(t, "the candidate gone from b", func() bool { return b.Rules.Candidate() == nil })
			testenv.Eventually(t, "the candidate gone from c", func() bool { return c.Rules.Candidate() == nil })

			assert.Equal(t, []string{"a promote " + ver2, "b candidate_set " + verC, "b rollback " + ver1, "a candidate_clear "},
				log.list(), "each change audited once, by the instance that made it")
		})
	}
}
