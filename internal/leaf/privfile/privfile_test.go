package privfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func perm(t *testing.T, path string) fs.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Mode().Perm()
}

// TestModes runs under umask 0, so only the modes the code asks for count.
func TestModes(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	cases := []struct {
		name string
		// setup stages what an older version left; do is the call.
		setup func(t *testing.T, dir string)
		do    func(dir string) error
		want  map[string]fs.FileMode
	}{
		{"new dir", nil, func(dir string) error { return MkdirAll(filepath.Join(dir, "a", "b")) },
			map[string]fs.FileMode{"a": 0o700, "a/b": 0o700}},
		{"existing loose dir", func(t *testing.T, dir string) { require.NoError(t, os.Mkdir(filepath.Join(dir, "d"), 0o755)) },
			func(dir string) error { return MkdirAll(filepath.Join(dir, "d")) }, map[string]fs.FileMode{"d": 0o700}},
		{"new append file", nil, func(dir string) error {
			f, err := OpenAppend(filepath.Join(dir, "log.jsonl"))
			if err == nil {
				err = f.Close()
			}
			return err
		}, map[string]fs.FileMode{"log.jsonl": 0o600}},
		{"existing loose append file", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "log.jsonl"), []byte("x\n"), 0o644))
		}, func(dir string) error {
			f, err := OpenAppend(filepath.Join(dir, "log.jsonl"))
			if err == nil {
				err = f.Close()
			}
			return err
		}, map[string]fs.FileMode{"log.jsonl": 0o600}},
		{"new sqlite file", nil, func(dir string) error { return SQLite(filepath.Join(dir, "a.db")) },
			map[string]fs.FileMode{"a.db": 0o600}},
		{"existing loose sqlite files", func(t *testing.T, dir string) {
			for _, f := range []string{"a.db", "a.db-wal", "a.db-shm"} {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), nil, 0o644))
			}
		}, func(dir string) error { return SQLite(filepath.Join(dir, "a.db")) },
			map[string]fs.FileMode{"a.db": 0o600, "a.db-wal": 0o600, "a.db-shm": 0o600}},
		{"tighten a tree, never loosen", func(t *testing.T, dir string) {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, "t", "sub"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "t", "f"), nil, 0o664))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "t", "sub", "g"), nil, 0o400))
			require.NoError(t, os.Symlink("/etc/hostname", filepath.Join(dir, "t", "link")))
		}, func(dir string) error { return Tighten(filepath.Join(dir, "t"), nil) },
			map[string]fs.FileMode{"t": 0o700, "t/sub": 0o700, "t/f": 0o600, "t/sub/g": 0o400}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.setup != nil {
				c.setup(t, dir)
			}
			require.NoError(t, c.do(dir))
			for rel, want := range c.want {
				require.Equal(t, want, perm(t, filepath.Join(dir, rel)), rel)
			}
		})
	}
}

func TestTightenReportsChanges(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "loose"), nil, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "tight"), nil, 0o600))
	require.NoError(t, os.Chmod(dir, 0o700))
	var got []string
	require.NoError(t, Tighten(dir, func(path string, from, to fs.FileMode) {
		got = append(got, filepath.Base(path)+" "+from.String()+" "+to.String())
	}))
	require.Equal(t, []string{"loose -rw-r--r-- -rw-------"}, got)
}
