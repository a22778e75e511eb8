package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/rules/backtest/fixture"
)

// The generator for large inputs (docs/backtest.md, docs/benchmarks.md):
//
//	go test ./cmd/riskctl -run TestGenerateEvents -args -gen-events /tmp/decisions.jsonl -gen-count 1000000
var (
	genEvents = flag.String("gen-events", "", "TestGenerateEvents writes a decision-event JSONL file here")
	genCount  = flag.Int("gen-count", 1_000_000, "how many decision events TestGenerateEvents writes")
)

const (
	candidateRules = "../../rules/backtest/testdata/candidate.yaml"
	baselineRules  = "../../rules/backtest/testdata/baseline.yaml"
)

// eventsJSONL is the backtest fixture (the real engine's decisions over a
// scripted day, encoded by the real OCSF encoder, findings included as in a
// mixed alerts file) plus two bad lines, built once per test binary.
var eventsJSONL = sync.OnceValues(func() ([]byte, error) {
	ds, err := fixture.Decisions(context.Background(), baselineRules)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := fixture.Write(&b, ds, fixture.WriteOptions{Findings: true}); err != nil {
		return nil, err
	}
	// A torn line and a blank one, as real files have after a crash or a
	// bad copy.
	b.WriteString("{\"class_uid\":3002,\"metadata\":{\"uid\":\"trunc\"},\"unmapped\":{\"riskauth\":{\"deci\n\n")
	return b.Bytes(), nil
})

// eventsFile writes the fixture into the test's temporary directory.
func eventsFile(t *testing.T) string {
	t.Helper()
	data, err := eventsJSONL()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	return path
}

// TestBacktestCommand checks each output of `riskctl rules backtest`
// against golden files in testdata/backtest/.
func TestBacktestCommand(t *testing.T) {
	events := eventsFile(t)
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	tests := []struct {
		name  string
		args  []string
		code  int
		files map[string]string // golden name -> file written by the command
	}{
		{"table", []string{"--rules", candidateRules, "--events", events, "-samples", "2", "-progress", "off"}, 0, nil},
		{"json", []string{"--rules", candidateRules, "--events", events, "-baseline", baselineRules, "-format", "json", "-progress", "off"}, 0, nil},
		{"html", []string{"--rules", candidateRules, "--events", events, "-baseline", baselineRules, "-html", html, "-samples", "3", "-progress", "off"}, 0,
			map[string]string{"html-report.html": html}},
		{"no-samples", []string{"--rules", baselineRules, "--events", events, "-samples", "0", "-progress", "off"}, 0, nil},
		{"usage", []string{"--events", events}, 2, nil},
		{"bad-format", []string{"--rules", candidateRules, "--events", events, "-format", "xml"}, 2, nil},
		{"bad-rules", []string{"--rules", filepath.Join("testdata", "backtest", "bad-rules.yaml"), "--events", events}, 1, nil},
		{"missing-events", []string{"--rules", candidateRules, "--events", filepath.Join("testdata", "backtest", "nope.jsonl")}, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(append([]string{"rules", "backtest"}, tc.args...), &out, &errOut)
			assert.Equal(t, tc.code, code, errOut.String())
			got := out.String() + errOut.String()
			got = strings.ReplaceAll(got, events, "EVENTS")
			got = strings.ReplaceAll(got, "../../", "")
			backtestGolden(t, tc.name+".golden", got)
			for name, path := range tc.files {
				b, err := os.ReadFile(path)
				require.NoError(t, err)
				backtestGolden(t, name, strings.ReplaceAll(string(b), "../../", ""))
			}
		})
	}
}

func backtestGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "backtest", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "go test ./cmd/riskctl -update creates it")
	if string(want) != got {
		t.Errorf("%s differs; go test ./cmd/riskctl -run TestBacktestCommand -update rewrites it", path)
		assert.Equal(t, string(want), got)
	}
}

// TestBacktestStdin reads the events from stdin (-events -): the same
// report as from the file.
func TestBacktestStdin(t *testing.T) {
	events := eventsFile(t)
	var fromFile bytes.Buffer
	require.Equal(t, 0, run([]string{"rules", "backtest", "--rules", candidateRules, "--events", events, "-progress", "off"}, &fromFile, &fromFile))

	f, err := os.Open(events)
	require.NoError(t, err)
	defer f.Close()
	stdin := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = stdin }()
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"rules", "backtest", "--rules", candidateRules, "--events", "-", "-progress", "off"}, &out, &errOut), errOut.String())
	require.Equal(t, fromFile.String(), out.String())
}

// TestBacktestProgress forces the progress bar: it goes to stderr, bounded
// by the file size, and stdout keeps only the report.
func TestBacktestProgress(t *testing.T) {
	events := eventsFile(t)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"rules", "backtest", "--rules", candidateRules, "--events", events, "-format", "json", "-progress", "on"}, &out, &errOut))
	require.Contains(t, errOut.String(), "replaying")
	require.Contains(t, errOut.String(), "100%")
	require.Contains(t, errOut.String(), "events replayed in")
	require.True(t, strings.HasPrefix(out.String(), "{"), "stdout is the report only")
}

// TestGenerateEvents writes a large decision-event file for measurements;
// it does nothing unless -gen-events is given (see the flag's comment).
func TestGenerateEvents(t *testing.T) {
	if *genEvents == "" {
		t.Skip("pass -args -gen-events FILE [-gen-count N] to generate")
	}
	ds, err := fixture.Decisions(context.Background(), baselineRules)
	require.NoError(t, err)
	f, err := os.Create(*genEvents)
	require.NoError(t, err)
	require.NoError(t, fixture.Write(f, ds, fixture.WriteOptions{Events: *genCount, Shift: time.Hour}))
	require.NoError(t, f.Close())
	st, err := os.Stat(*genEvents)
	require.NoError(t, err)
	t.Logf("wrote %d decision events (%d MiB) to %s", *genCount, st.Size()>>20, *genEvents)
}
