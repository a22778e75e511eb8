package scenario_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/riskauth/riskauth/engine/scenario"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoad checks that every corpus scenario loads and that bad files are
// refused at load with a message naming the problem.
func TestLoad(t *testing.T) {
	t.Parallel()
	corpus, err := filepath.Glob("../../testdata/scenarios/*/scenario.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, corpus)
	for _, p := range corpus {
		_, err := scenario.Load(p)
		assert.NoError(t, err, p)
	}
	tests := []struct {
		name, src, want string
	}{
		{"no steps", "description: x\n", "no steps"},
		{"unknown key", "steps:\n  - event: {kind: login}\n    expekt: {decision: block}\n", "field expekt not found"},
		{"bad decision", "steps:\n  - event: {kind: login}\n    expect: {decision: blok}\n", `step 1: unknown decision "blok"`},
		{"bad expect_last", "steps:\n  - event: {kind: login}\n  - event: {kind: login}\n    expect_last: {decision: allow}\n", `step 2: unknown decision "allow"`},
		{"negative", "steps:\n  - event: {kind: login}\n    repeat: -1\n", "must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "scenario.yaml")
			require.NoError(t, os.WriteFile(p, []byte(tc.src), 0o644))
			_, err := scenario.Load(p)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}
