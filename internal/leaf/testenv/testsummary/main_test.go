package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testdata/run.jsonl is go test -json over four packages: a (a pass with
// a log line, a skip, a failed subtest beside a passing one, a skipped
// subtest, a test printing to stdout), b (a panic), c (a build error) and
// d (no test files), with a and b interleaved as go test runs them.
func summarize(t *testing.T, verbose bool) string {
	t.Helper()
	f, err := os.Open("testdata/run.jsonl")
	require.NoError(t, err)
	defer f.Close()
	var out bytes.Buffer
	s := newSummarizer(&out, verbose)
	require.NoError(t, s.read(f))
	s.finish()
	return out.String()
}

func TestSummary(t *testing.T) {
	got := summarize(t, false)
	t.Log("\n" + got)
	// What go test prints without -json: failures, package lines, build
	// errors; nothing of passing or skipped tests.
	for _, want := range []string{
		"c/c_test.go:3:31: undefined: undefined\n",
		"    a_test.go:5: boom\n--- FAIL: TestFail/sub (0.00s)\n--- FAIL: TestFail (0.00s)\nFAIL\nFAIL\tx/a\t0.003s\n",
		"--- FAIL: TestPanic (0.00s)\npanic: oops",
		"FAIL\tx/c [build failed]\n",
		"?   \tx/d\t[no test files]\n",
	} {
		assert.Contains(t, got, want)
	}
	for _, not := range []string{"a_test.go:3: hello", "a_test.go:5: fine", "direct stdout", "=== RUN", "--- PASS", "--- SKIP"} {
		assert.NotContains(t, got, not)
	}
	// Packages do not interleave: b's panic comes before c and d, which
	// finished first.
	assert.Less(t, strings.Index(got, "FAIL\tx/b"), strings.Index(got, "FAIL\tx/c"))
	assert.Contains(t, got, "summary: 4 tests passed, 3 failed, 2 skipped; 0 packages ok, 3 failed, 1 without tests\n")
	assert.Contains(t, got, "skipped tests (2), and why:\n"+
		"  SKIP x/a TestSkip: a_test.go:4: no server: redis\n"+
		"  SKIP x/a TestSub/s1: a_test.go:6: sub skip\n")
	assert.Contains(t, got, "  BUILD FAILED x/c [x/c.test]\n  FAIL x/a TestFail/sub\n  FAIL x/a TestFail\n  FAIL x/b TestPanic\n")
}

func TestSummaryVerbose(t *testing.T) {
	got := summarize(t, true)
	for _, want := range []string{"=== RUN   TestPass\n    a_test.go:3: hello\n--- PASS: TestPass", "--- SKIP: TestSkip", "direct stdout\n"} {
		assert.Contains(t, got, want)
	}
	assert.Contains(t, got, "  SKIP x/a TestSkip: a_test.go:4: no server: redis\n", "the reasons, also under -v")
}

func TestNotJSON(t *testing.T) {
	var out bytes.Buffer
	s := newSummarizer(&out, false)
	require.NoError(t, s.read(strings.NewReader("go: downloading example.com/x v1.0.0\n{\"Action\":\"start\",\"Package\":\"p\"}\n")))
	s.finish()
	assert.True(t, strings.HasPrefix(out.String(), "go: downloading example.com/x v1.0.0\n"), out.String())
}
