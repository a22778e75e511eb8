package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRun runs the command on a tiny population with the geo fixture and
// checks that it prints its configuration and the tables and writes both
// report files.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"-seed", "3", "-users", "40", "-logins", "800", "-attacks", "10",
		"-geo", filepath.Join(dir, "no-data"), "-q", "-json", filepath.Join(dir, "r.json"), "-html", filepath.Join(dir, "r.html")}, &out, &errb)
	require.NoError(t, err, errb.String())
	s := out.String()
	for _, want := range []string{"seed 3, 40 users, 800 logins", "geo bundled fixture", "replayed", "very_targeted", "legit, history", "wrote "} {
		assert.Contains(t, s, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, "r.json"))
	require.NoError(t, err)
	var rep map[string]any
	require.NoError(t, json.Unmarshal(b, &rep))
	h, err := os.ReadFile(filepath.Join(dir, "r.html"))
	require.NoError(t, err)
	assert.Contains(t, string(h), "<svg")
}

func TestBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	require.Error(t, run(context.Background(), []string{"-users", "10", "-logins", "5", "-geo", t.TempDir()}, &out, &errb))
	require.Error(t, run(context.Background(), []string{"extra"}, &out, &errb))
}
