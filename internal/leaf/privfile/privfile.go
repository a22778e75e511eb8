package privfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The modes of everything the service creates in its data dir.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)

// MkdirAll creates dir and its missing parents, and gives dir itself
// DirMode, also when it existed with another one: os.MkdirAll leaves an
// existing directory as it is and subjects a new one to the umask. Parents
// it creates are DirMode too; existing parents are not touched.
func MkdirAll(dir string) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return err
	}
	return ensure(dir, DirMode)
}

// OpenAppend opens path for appending, creating it with FileMode; an
// existing file with a looser mode is tightened to FileMode.
func OpenAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, FileMode)
	if err != nil {
		return nil, err
	}
	if err := fensure(f, FileMode); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// sqliteSidecars are the files SQLite keeps beside a database.
var sqliteSidecars = []string{"", "-wal", "-shm", "-journal"}

// SQLite prepares path for a SQLite database: it creates the file, empty
// and FileMode, when it does not exist, and tightens it and its -wal,
// -shm and -journal files when they exist with a looser mode. SQLite
// creates a database with 0644 of its own accord, but gives the files it
// adds beside one the database's mode, so they stay private too.
func SQLite(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	switch {
	case err == nil:
		// Empty is what SQLite expects of a new database file.
		if err := errors.Join(fensure(f, FileMode), f.Close()); err != nil {
			return fmt.Errorf("sqlite file %s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("sqlite file %s: %w", path, err)
	}
	for _, suffix := range sqliteSidecars {
		if err := tighten(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sqlite file %s: %w", path+suffix, err)
		}
	}
	return nil
}

// Tighten removes the group and other permission bits of dir and of
// everything under it (directories and files; symbolic links are not
// followed), so that a tree an older version created readable by others
// becomes private. It never adds a bit. changed, when not nil, is called
// for every path whose mode it changed. It goes on after an error (a file
// owned by another user) and returns them all.
func Tighten(dir string, changed func(path string, from, to fs.FileMode)) error {
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 || (!d.IsDir() && !d.Type().IsRegular()) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		from := fi.Mode().Perm()
		to := from &^ 0o077
		if to == from {
			return nil
		}
		if err := os.Chmod(path, to); err != nil {
			errs = append(errs, err)
			return nil
		}
		if changed != nil {
			changed(path, from, to)
		}
		return nil
	})
	return errors.Join(append(errs, err)...)
}

// ensure gives path exactly mode.
func ensure(path string, mode fs.FileMode) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm() == mode {
		return nil
	}
	return os.Chmod(path, mode)
}

// fensure gives the open file exactly mode.
func fensure(f *os.File, mode fs.FileMode) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode().Perm() == mode {
		return nil
	}
	return f.Chmod(mode)
}

// tighten removes the group and other bits of path.
func tighten(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	if p := fi.Mode().Perm(); p&0o077 != 0 {
		return os.Chmod(path, p&^0o077)
	}
	return nil
}
