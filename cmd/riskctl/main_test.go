package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
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
	}{
		{"lint-good", []string{"rules", "lint", "../../testdata/rules/basic.good.yaml"}, 0},
		{"lint-bad", []string{"rules", "lint", "../../testdata/rules/unknown-field.bad.yaml", "../../testdata/rules/schema.bad.yaml"}, 1},
		{"test-default", []string{"rules", "test", "-v", "../../rules/default.yaml"}, 0},
		{"test-failing", []string{"rules", "test", "testdata/failing.yaml"}, 1},
		{"usage", []string{"nope"}, 2},
		{"geo-lookup", []string{"geo", "lookup", "-config", "", "192.0.2.1", "2001:db8:6::1", "::ffff:198.51.100.17", "10.0.0.1", "not-an-ip"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			assert.Equal(t, tc.code, code, errOut.String())
			got := strings.ReplaceAll(out.String()+errOut.String(), "../../", "")
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
