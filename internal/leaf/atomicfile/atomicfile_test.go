package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	require.NoError(t, Write(path, []byte("one"), 0o600))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "a new file gets perm")

	require.NoError(t, os.Chmod(path, 0o640))
	require.NoError(t, Write(path, []byte("two"), 0o600))
	b, _ := os.ReadFile(path)
	assert.Equal(t, "two", string(b))
	fi, _ = os.Stat(path)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm(), "a replaced file keeps its mode")

	boom := errors.New("boom")
	err = WriteFunc(path, 0o600, func(w io.Writer) error { _, _ = w.Write([]byte("half")); return boom })
	require.ErrorIs(t, err, boom)
	b, _ = os.ReadFile(path)
	assert.Equal(t, "two", string(b), "a failed write leaves the old content")
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "no temporary file left behind")

	require.Error(t, Write(filepath.Join(dir, "missing", "f"), nil, 0o600))
}
