package rules_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
	"github.com/riskauth/riskauth/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rolloutSource is a Source on a copy of basic.good.yaml in a temp dir,
// recording every audited change.
type rolloutSource struct {
	src     *rules.Source
	path    string
	good    []byte
	mu      sync.Mutex
	changes []rules.Change
}

func newRolloutSource(t *testing.T, candPath string) *rolloutSource {
	t.Helper()
	dir := t.TempDir()
	r := &rolloutSource{path: filepath.Join(dir, "rules.yaml")}
	var err error
	r.good, err = os.ReadFile("../testdata/rules/basic.good.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(r.path, r.good, 0o644))
	r.src, err = rules.NewSource(rules.SourceConfig{Path: r.path, CandidatePath: candPath, Schema: schema(t), HistorySize: 3,
		OnAudit: func(c rules.Change) {
			r.mu.Lock()
			r.changes = append(r.changes, c)
			r.mu.Unlock()
		}})
	require.NoError(t, err)
	return r
}

func (r *rolloutSource) actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.changes {
		out = append(out, c.Action+":"+c.Actor)
	}
	return out
}

// variant returns basic.good.yaml with the first "score: 30" changed to n.
func (r *rolloutSource) variant(n string) []byte {
	return []byte(strings.Replace(string(r.good), "score: 30", "score: "+n, 1))
}

func TestPromoteWritesFileAtomically(t *testing.T) {
	r := newRolloutSource(t, "")
	v1 := r.src.Current().Version

	_, err := r.src.Promote(r.variant("31"), "not-the-version", "alice")
	require.ErrorIs(t, err, rules.ErrVersionMismatch)
	assert.Equal(t, v1, r.src.Current().Version)

	_, err = r.src.Promote([]byte("version: 1\nrules: [oops"), v1, "alice")
	require.ErrorIs(t, err, rules.ErrInvalid)
	onDisk, _ := os.ReadFile(r.path)
	assert.Equal(t, r.good, onDisk, "an invalid file is never written")

	rs, err := r.src.Promote(r.variant("31"), v1, "alice")
	require.NoError(t, err)
	assert.NotEqual(t, v1, rs.Version)
	assert.Equal(t, rs.Version, r.src.Current().Version)
	onDisk, _ = os.ReadFile(r.path)
	assert.Equal(t, r.variant("31"), onDisk, "disk and running set agree")
	changed, err := r.src.Reload()
	require.NoError(t, err)
	assert.False(t, changed, "the hot reloader sees the same version")
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(r.path), ".rules.yaml.tmp-*"))
	assert.Empty(t, left, "no temporary file is left behind")

	// Hot reload still works after a promote.
	require.NoError(t, os.WriteFile(r.path, r.variant("32"), 0o644))
	changed, err = r.src.Reload()
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, []string{"promote:alice", "reload:file-watcher"}, r.actions())
	st := r.src.Status()
	require.Len(t, st.History, 2)
	assert.Equal(t, rs.Version, st.History[0].Version, "most recent first")
	assert.Equal(t, v1, st.History[1].Version)
}

func TestConcurrentPromotesOneWins(t *testing.T) {
	r := newRolloutSource(t, "")
	v1 := r.src.Current().Version
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.src.Promote(r.variant(strconv.Itoa(40+i)), v1, "admin")
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			require.ErrorIs(t, err, rules.ErrVersionMismatch)
		}
	}
	assert.Equal(t, 1, won)
	assert.Len(t, r.src.Status().History, 1)
}

func TestRollbackSurvivesRestart(t *testing.T) {
	r := newRolloutSource(t, "")
	v1 := r.src.Current().Version
	_, err := r.src.Rollback("", "alice")
	require.ErrorIs(t, err, rules.ErrNoHistory)

	v2, err := r.src.Promote(r.variant("31"), v1, "alice")
	require.NoError(t, err)
	v3, err := r.src.Promote(r.variant("33"), v2.Version, "bob")
	require.NoError(t, err)

	// A restart reads the history kept next to the rule file.
	again, err := rules.NewSource(rules.SourceConfig{Path: r.path, Schema: schema(t)})
	require.NoError(t, err)
	assert.Equal(t, v3.Version, again.Current().Version)
	hist := again.Status().History
	require.Len(t, hist, 2)
	assert.Equal(t, []string{v2.Version, v1}, []string{hist[0].Version, hist[1].Version})

	_, err = again.Rollback("stale", "carol")
	require.ErrorIs(t, err, rules.ErrVersionMismatch)
	back, err := again.Rollback(v3.Version, "carol")
	require.NoError(t, err)
	assert.Equal(t, v2.Version, back.Version)
	onDisk, _ := os.ReadFile(r.path)
	assert.Equal(t, r.variant("31"), onDisk)
	back, err = again.Rollback("", "carol")
	require.NoError(t, err)
	assert.Equal(t, v1, back.Version, "rolling back twice goes two versions back")
	assert.Empty(t, again.Status().History)
	entries, _ := os.ReadDir(r.path + ".history")
	assert.Empty(t, entries, "rolled-back entries leave the history dir")
}

func TestHistoryIsBounded(t *testing.T) {
	r := newRolloutSource(t, "")
	for i := range 6 {
		_, err := r.src.Promote(r.variant(strconv.Itoa(60+i)), r.src.Current().Version, "alice")
		require.NoError(t, err)
	}
	assert.Len(t, r.src.Status().History, 3)
	entries, _ := os.ReadDir(r.path + ".history")
	assert.Len(t, entries, 3)
}

func TestCandidateFile(t *testing.T) {
	candPath := filepath.Join(t.TempDir(), "candidate.yaml")
	r := newRolloutSource(t, candPath)
	assert.Nil(t, r.src.Candidate(), "a missing candidate file is no candidate")

	c, err := r.src.SetCandidate(r.variant("41"), "alice")
	require.NoError(t, err)
	assert.Equal(t, c.Version, r.src.Candidate().Version)
	onDisk, _ := os.ReadFile(candPath)
	assert.Equal(t, r.variant("41"), onDisk, "the candidate file follows the API")
	changed, err := r.src.ReloadCandidate()
	require.NoError(t, err)
	assert.False(t, changed)

	_, err = r.src.SetCandidate([]byte("version: 2"), "alice")
	require.ErrorIs(t, err, rules.ErrInvalid)
	assert.Equal(t, c.Version, r.src.Candidate().Version, "an invalid candidate changes nothing")

	// Edited on disk: hot-reloaded.
	require.NoError(t, os.WriteFile(candPath, r.variant("42"), 0o644))
	changed, err = r.src.ReloadCandidate()
	require.NoError(t, err)
	assert.True(t, changed)
	c2 := r.src.Candidate()
	assert.NotEqual(t, c.Version, c2.Version)

	// Promoting the candidate makes it active and removes it.
	v1 := r.src.Current().Version
	rs, err := r.src.Promote(nil, v1, "bob")
	require.NoError(t, err)
	assert.Equal(t, c2.Version, rs.Version)
	assert.Nil(t, r.src.Candidate())
	_, err = os.Stat(candPath)
	assert.True(t, errors.Is(err, os.ErrNotExist))
	_, err = r.src.Promote(nil, rs.Version, "bob")
	require.ErrorIs(t, err, rules.ErrNoCandidate)

	_, err = r.src.SetCandidate(r.variant("43"), "alice")
	require.NoError(t, err)
	cleared, err := r.src.ClearCandidate("alice")
	require.NoError(t, err)
	assert.True(t, cleared)
	cleared, err = r.src.ClearCandidate("alice")
	require.NoError(t, err)
	assert.False(t, cleared)
	assert.Equal(t, []string{"candidate_set:alice", "candidate_reload:file-watcher", "promote:bob", "candidate_set:alice", "candidate_clear:alice"}, r.actions())
	r.mu.Lock()
	last := r.changes[4]
	r.mu.Unlock()
	assert.True(t, last.Candidate)
	assert.NotEmpty(t, last.OldVersion)
	assert.Empty(t, last.NewVersion)
}

func TestWatchAfterPromote(t *testing.T) {
	candPath := filepath.Join(t.TempDir(), "candidate.yaml")
	r := newRolloutSource(t, candPath)
	ctx, cancel := contextWithCancel(t)
	defer cancel()
	go r.src.Watch(ctx, 50*time.Millisecond)
	_, err := r.src.Promote(r.variant("31"), r.src.Current().Version, "alice")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(r.path, r.variant("32"), 0o644))
	require.NoError(t, os.WriteFile(candPath, r.variant("52"), 0o644))
	testenv.Eventually(t, "three rollout actions", func() bool { return len(r.actions()) >= 3 })
	assert.ElementsMatch(t, []string{"promote:alice", "reload:file-watcher", "candidate_reload:file-watcher"}, r.actions())
	assert.NotNil(t, r.src.Candidate())
}
