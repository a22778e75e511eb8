package daemon

import (
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/leaf/privfile"
)

// privateDataDir makes the data dir (and the alert spool, when it lives
// elsewhere) private before anything opens a file there: a tree an older
// version left readable by others (0755 directories, 0644 databases and
// key files) loses its group and other bits, each change logged; then the
// data dir is created 0700 if it is missing. Every component creates its
// own files 0600 (internal/leaf/privfile); this repairs what exists. A
// file that cannot be tightened (owned by another user) is a warning, not
// a reason not to start.
func privateDataDir(cfg *config.Config, log *slog.Logger) error {
	dirs := []string{cfg.DataDir}
	if sd := cfg.Alerts.SpoolDir; sd != "" && !within(sd, cfg.DataDir) {
		dirs = append(dirs, sd)
	}
	for _, dir := range dirs {
		if _, err := os.Stat(dir); err != nil {
			continue // created below, or by the spool, 0700
		}
		err := privfile.Tighten(dir, func(path string, from, to fs.FileMode) {
			log.Warn("data dir: permissions tightened", "path", path, "from", from.String(), "to", to.String())
		})
		if err != nil {
			log.Warn("data dir: some permissions could not be tightened", "dir", dir, "err", err)
		}
	}
	if err := privfile.MkdirAll(cfg.DataDir); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}

// within reports whether path is dir or lies under it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
