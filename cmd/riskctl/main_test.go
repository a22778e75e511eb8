package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCommands checks each command's output and exit code against golden
// files in testdata/.
func TestCommands(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		// junit, when set, adds -junit FILE and appends the file to the output.
		junit bool
	}{
		{"lint-good", []string{"rules", "lint", "../../testdata/rules/basic.good.yaml"}, 0, false},
		{"lint-bad", []string{"rules", "lint", "../../testdata/rules/unknown-field.bad.yaml", "../../testdata/rules/schema.bad.yaml"}, 1, false},
		{"lint-typos", []string{"rules", "lint", "../../rules/testdata/typos.bad.yaml"}, 1, false},
		{"lint-warnings", []string{"rules", "lint", "../../rules/testdata/warnings.good.yaml"}, 0, false},
		{"lint-strict", []string{"rules", "lint", "-strict", "../../rules/testdata/warnings.good.yaml"}, 1, false},
		{"lint-corpus", []string{"rules", "lint", "-config", "", "../../rules/default.yaml", "-scenarios", "../../testdata/scenarios"}, 0, false},
		{"test-default", []string{"rules", "test", "-v", "../../rules/default.yaml"}, 0, false},
		{"test-failing", []string{"rules", "test", "testdata/failing.yaml"}, 1, false},
		{"test-scenarios", []string{"rules", "test", "-config", "", "../../rules/default.yaml", "-scenarios", "../../testdata/scenarios"}, 0, true},
		{"test-scenario-failing", []string{"rules", "test", "-config", "", "../../rules/default.yaml", "-scenarios", "testdata/scenarios/failing.yaml"}, 1, true},
		{"test-scenario-error", []string{"rules", "test", "-config", "", "../../rules/default.yaml", "-scenarios", "testdata/scenarios/bad.yaml"}, 2, true},
		{"test-run", []string{"rules", "test", "-config", "", "-v", "-run", "stuffing", "../../rules/default.yaml", "-scenarios", "../../testdata/scenarios"}, 0, false},
		{"test-load-error", []string{"rules", "test", "../../testdata/rules/unknown-field.bad.yaml"}, 2, false},
		{"explain-event", []string{"rules", "explain", "-config", "", "testdata/explain/event.json"}, 0, false},
		{"explain-event-json", []string{"rules", "explain", "-config", "", "-format", "json", "testdata/explain/event.json"}, 0, false},
		{"explain-event-rules", []string{"rules", "explain", "-config", "", "-rules", "testdata/explain/rules.yaml", "testdata/explain/event.json"}, 0, false},
		{"explain-decision", []string{"rules", "explain", "-config", "", "testdata/explain/decision.json"}, 0, false},
		{"explain-decision-json", []string{"rules", "explain", "-config", "", "-format", "json", "testdata/explain/decision.json"}, 0, false},
		{"explain-decision-rules", []string{"rules", "explain", "-config", "", "-rules", "testdata/explain/rules.yaml", "testdata/explain/decision.json"}, 0, false},
		{"explain-bad-input", []string{"rules", "explain", "-config", "", "testdata/failing.yaml"}, 2, false},
		{"usage", []string{"nope"}, 2, false},
		{"geo-lookup", []string{"geo", "lookup", "-config", "", "192.0.2.1", "2001:db8:6::1", "::ffff:198.51.100.17", "10.0.0.1", "not-an-ip"}, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			args := tc.args
			junit := filepath.Join(t.TempDir(), "junit.xml")
			if tc.junit {
				args = append(slices.Clone(args), "-junit", junit)
			}
			code := run(args, &out, &errOut)
			assert.Equal(t, tc.code, code, errOut.String())
			got := out.String() + errOut.String()
			if tc.junit {
				b, err := os.ReadFile(junit)
				require.NoError(t, err)
				got += "--- " + filepath.Base(junit) + "\n" + string(b)
			}
			got = strings.ReplaceAll(got, "../../", "")
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "go test ./cmd/riskctl -update creates it")
			assert.Equal(t, string(want), got)
		})
	}
}

// TestRuleFieldsDoc keeps docs/rule-fields.md equal to what
// `riskctl rules fields` prints, so the catalogue cannot drift from the code.
func TestRuleFieldsDoc(t *testing.T) {
	var out bytes.Buffer
	require.Equal(t, 0, run([]string{"rules", "fields", "-config", ""}, &out, &out))
	path := "../../docs/rule-fields.md"
	if *update {
		require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), out.String(), "docs/rule-fields.md is stale: go run ./cmd/riskctl rules fields > docs/rule-fields.md")
}
