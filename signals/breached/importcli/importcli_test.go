package importcli

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riskauth/riskauth/signals/breached"
	"github.com/stretchr/testify/require"
)

func corpus(passwords ...string) string {
	var b strings.Builder
	for i, p := range passwords {
		s := sha1.Sum([]byte(p))
		fmt.Fprintf(&b, "%s:%d\r\n", strings.ToUpper(hex.EncodeToString(s[:])), 10*(i+1))
	}
	return b.String()
}

func TestRunFileAndStdin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := filepath.Join(dir, "pwned.txt")
	require.NoError(t, os.WriteFile(in, []byte(corpus("hunter2", "letmein", "rare")), 0o644))

	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
	}{
		{"file table", []string{in, "-out", filepath.Join(dir, "t.bin"), "-format", "table", "-min-count", "20"}, ""},
		{"stdin filter", []string{"-o", filepath.Join(dir, "f.bin"), "-"}, corpus("hunter2", "letmein", "rare")},
	} {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), tc.args, strings.NewReader(tc.stdin), &stdout, &stderr)
		require.Equal(t, ExitOK, code, "%s: %s", tc.name, stderr.String())
		require.Contains(t, stdout.String(), "wrote ")
		require.Contains(t, stderr.String(), "reading") // the progress bar
	}
	tb, err := breached.Open(filepath.Join(dir, "t.bin"))
	require.NoError(t, err)
	defer tb.Close()
	r, err := tb.Check(context.Background(), "letmein")
	require.NoError(t, err)
	require.Equal(t, breached.Result{Breached: true, Count: 20}, r)
	r, err = tb.Check(context.Background(), "hunter2") // count 10 < min-count 20
	require.NoError(t, err)
	require.False(t, r.Breached)
}

func TestRunRangeDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := sha1.Sum([]byte("hunter2"))
	h := strings.ToUpper(hex.EncodeToString(s[:]))
	require.NoError(t, os.WriteFile(filepath.Join(dir, h[:5]+".txt"), []byte(h[5:]+":17\r\n"), 0o644))
	out := filepath.Join(t.TempDir(), "t.bin")
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"-format", "table", "-no-progress", "-out", out, dir}, nil, &stdout, &stderr)
	require.Equal(t, ExitOK, code, stderr.String())
	require.Empty(t, stderr.String())
	c, err := breached.Open(out)
	require.NoError(t, err)
	defer c.Close()
	r, err := c.Check(context.Background(), "hunter2")
	require.NoError(t, err)
	require.Equal(t, breached.Result{Breached: true, Count: 17}, r)
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.bin")
	bad := corpus("a") + "garbage\r\n" + corpus("b")
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"-no-progress", "-out", out, "-"}, strings.NewReader(bad), &stdout, &stderr)
	require.Equal(t, ExitError, code)
	require.Contains(t, stderr.String(), "line 2: malformed corpus line")
	require.Contains(t, stderr.String(), "-skip-invalid")
	_, err := os.Stat(out)
	require.True(t, os.IsNotExist(err))

	stderr.Reset()
	code = Run(context.Background(), []string{"-no-progress", "-skip-invalid", "-out", out, "-"}, strings.NewReader(bad), &stdout, &stderr)
	require.Equal(t, ExitOK, code, stderr.String())
	require.Contains(t, stderr.String(), "skipped line 2")

	for _, args := range [][]string{{}, {"-out", out}, {"x", "y", "-out", out}, {"-format", "bloom"}, {"-nope"}} {
		stderr.Reset()
		code := Run(context.Background(), args, nil, &stdout, &stderr)
		require.Equal(t, ExitUsage, code, "%v", args)
	}
	stderr.Reset()
	code = Run(context.Background(), []string{"-no-progress", "-format", "bloom", "-out", out, "-"}, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, ExitError, code)
	require.Contains(t, stderr.String(), "unknown format")

	code = Run(context.Background(), []string{"-out", out, filepath.Join(dir, "missing")}, nil, &stdout, &stderr)
	require.Equal(t, ExitError, code)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code = Run(ctx, []string{"-no-progress", "-out", filepath.Join(dir, "c.bin"), "-"}, strings.NewReader(corpus("a")), &stdout, &stderr)
	require.Equal(t, ExitError, code)
	_, err = os.Stat(filepath.Join(dir, "c.bin"))
	require.True(t, os.IsNotExist(err))
}
