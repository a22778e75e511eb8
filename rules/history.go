package rules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riskauth/riskauth/internal/leaf/atomicfile"
	"github.com/riskauth/riskauth/internal/leaf/privfile"
)

// DefaultHistorySize is how many previously active versions a Source keeps
// for rollback when SourceConfig.HistorySize is zero.
const DefaultHistorySize = 10

// HistoryEntry is a rule file version that was active before the current
// one, kept so that it can be rolled back to.
type HistoryEntry struct {
	Version string `json:"version"`
	// ReplacedAt is when it stopped being the active version.
	ReplacedAt time.Time `json:"replaced_at"`
	src        []byte
	file       string // "" when kept in memory only
}

// history is a bounded stack of previously active versions, oldest first.
// With a directory it is mirrored there, one file per entry named
// <unix nanos>-<version>.yaml, so that a restarted server can still roll
// back; without one (the embedded default rule file) it lives in memory.
type history struct {
	dir     string
	max     int
	entries []HistoryEntry
}

// historyDir is where the history of the rule file at path is kept: a
// directory next to it, so that it moves (and is backed up) with the file.
func historyDir(path string) string {
	if path == "" {
		return ""
	}
	return path + ".history"
}

// loadHistory reads the entries kept in dir (none when it does not exist).
// Unreadable entries are skipped: history helps an operator, it must never
// stop the server from starting.
func loadHistory(dir string, max int) (*history, error) {
	h := &history{dir: dir, max: max}
	if dir == "" {
		return h, nil
	}
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("rule history %s: %w", dir, err)
	}
	names := make([]string, 0, len(des))
	for _, de := range des {
		if de.Type().IsRegular() && strings.HasSuffix(de.Name(), ".yaml") {
			names = append(names, de.Name())
		}
	}
	sort.Strings(names) // zero-padded nanoseconds first: chronological
	for _, n := range names {
		ts, ver, ok := strings.Cut(strings.TrimSuffix(n, ".yaml"), "-")
		nanos, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil {
			continue
		}
		src, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		h.entries = append(h.entries, HistoryEntry{Version: ver, ReplacedAt: time.Unix(0, nanos).UTC(), src: src, file: filepath.Join(dir, n)})
	}
	h.trim()
	return h, nil
}

// push records rs as replaced at at. A failure to mirror it on disk is
// returned but the entry is kept in memory.
func (h *history) push(rs *RuleSet, at time.Time) error {
	e := HistoryEntry{Version: rs.Version, ReplacedAt: at.UTC(), src: rs.Source()}
	var err error
	if h.dir != "" {
		name := filepath.Join(h.dir, fmt.Sprintf("%020d-%s.yaml", at.UnixNano(), rs.Version))
		// The service's own copies: private like its data dir.
		if err = privfile.MkdirAll(h.dir); err == nil {
			err = atomicfile.Write(name, e.src, privfile.FileMode)
		}
		if err == nil {
			e.file = name
		} else {
			err = fmt.Errorf("rule history: %w", err)
		}
	}
	h.entries = append(h.entries, e)
	h.trim()
	return err
}

// last returns the most recently replaced version.
func (h *history) last() (HistoryEntry, bool) {
	if len(h.entries) == 0 {
		return HistoryEntry{}, false
	}
	return h.entries[len(h.entries)-1], true
}

// drop forgets the most recent entry (it was rolled back to).
func (h *history) drop() {
	if len(h.entries) == 0 {
		return
	}
	e := h.entries[len(h.entries)-1]
	h.entries = h.entries[:len(h.entries)-1]
	if e.file != "" {
		_ = os.Remove(e.file)
	}
}

func (h *history) trim() {
	for len(h.entries) > h.max {
		if f := h.entries[0].file; f != "" {
			_ = os.Remove(f)
		}
		h.entries = h.entries[1:]
	}
}

// list returns the entries, most recent first.
func (h *history) list() []HistoryEntry {
	out := make([]HistoryEntry, len(h.entries))
	for i, e := range h.entries {
		out[len(out)-1-i] = e
	}
	return out
}
