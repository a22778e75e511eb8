package rules_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskauth/riskauth/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLintGolden checks lint output for rules/testdata: load errors with
// did-you-mean hints for *.bad.yaml, warnings (with coverage over the
// inline cases) for *.good.yaml.
func TestLintGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			rs, err := rules.LoadFile(f, schema(t))
			var es rules.Errors
			switch {
			case strings.HasSuffix(f, ".bad.yaml"):
				require.True(t, errors.As(err, &es), "want load errors, got %v", err)
				for _, e := range es {
					b.WriteString(e.Error() + "\n")
				}
			default:
				require.NoError(t, err)
				cov := rules.NewCoverage(rs)
				cov.AddCases(rs)
				for _, w := range rs.Lint(cov) {
					b.WriteString(w.String() + "\n")
				}
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "go test ./rules -update creates it")
			assert.Equal(t, string(want), b.String())
		})
	}
}

// TestLintDefaultFile keeps the shipped rules free of structural warnings
// (coverage warnings need a corpus; riskctl's tests replay it).
func TestLintDefaultFile(t *testing.T) {
	t.Parallel()
	rs, err := rules.Compile("default.yaml", rules.DefaultFile, schema(t))
	require.NoError(t, err)
	assert.Empty(t, rs.Lint(nil))
}

func TestCoverage(t *testing.T) {
	t.Parallel()
	rs, err := rules.Compile("default.yaml", rules.DefaultFile, schema(t))
	require.NoError(t, err)
	cov := rules.NewCoverage(rs)
	cov.Observe([]string{"automation-client", "no-such-rule"})
	cov.Observe(nil)
	cov.ObserveRule("new-device", true)
	assert.Equal(t, 2, cov.Evaluated["automation-client"])
	assert.Equal(t, 1, cov.Matched["automation-client"])
	assert.Equal(t, 3, cov.Evaluated["new-device"])
	assert.Equal(t, 1, cov.Matched["new-device"])
	assert.NotContains(t, cov.Matched, "no-such-rule")
}
