package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Source holds the active rule set and replaces it when its file changes.
// An invalid file never replaces a valid set: the old one stays active and
// the failure is reported through the OnChange hook.
type Source struct {
	path   string
	schema *Schema
	opts   []Option
	cur    atomic.Pointer[RuleSet]
	mu     sync.Mutex // serialises reloads
	hook   func(old, cur *RuleSet, err error)
	log    *slog.Logger
}

// SourceConfig configures a Source.
type SourceConfig struct {
	// Path is the rule file; empty means the embedded default rule file,
	// which never changes.
	Path   string
	Schema *Schema
	// Options apply to every compile (lists, ...).
	Options []Option
	// OnChange is called after every reload attempt: with the new set on
	// success, with err on failure (cur is then the set still active).
	OnChange func(old, cur *RuleSet, err error)
	Logger   *slog.Logger
}

// NewSource loads the rule file once; an invalid file is an error here,
// since there is nothing to fall back to.
func NewSource(cfg SourceConfig) (*Source, error) {
	if cfg.Schema == nil {
		return nil, errors.New("rules source: schema is required")
	}
	s := &Source{path: cfg.Path, schema: cfg.Schema, opts: cfg.Options, hook: cfg.OnChange, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var rs *RuleSet
	var err error
	if cfg.Path == "" {
		rs, err = Compile("default.yaml", DefaultFile, cfg.Schema, cfg.Options...)
	} else {
		rs, err = LoadFile(cfg.Path, cfg.Schema, cfg.Options...)
	}
	if err != nil {
		return nil, err
	}
	s.cur.Store(rs)
	return s, nil
}

// Current returns the active rule set.
func (s *Source) Current() *RuleSet { return s.cur.Load() }

// Reload re-reads the file and activates it when it is valid and differs
// from the active set. It reports whether the set changed.
func (s *Source) Reload() (bool, error) {
	if s.path == "" {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	src, err := os.ReadFile(s.path)
	var rs *RuleSet
	if err == nil {
		rs, err = Compile(s.path, src, s.schema, append([]Option{WithBaseDir(filepath.Dir(s.path))}, s.opts...)...)
	}
	if err == nil && rs.Version == old.Version {
		return false, nil // same content, same lists
	}
	if err != nil {
		err = fmt.Errorf("reload rules %s: keeping version %s: %w", s.path, old.Version, err)
		s.log.Error("rule file rejected", "path", s.path, "active_version", old.Version, "err", err)
		if s.hook != nil {
			s.hook(old, old, err)
		}
		return false, err
	}
	s.cur.Store(rs)
	s.log.Info("rule file activated", "path", s.path, "version", rs.Version, "previous", old.Version, "rules", len(rs.Rules))
	if s.hook != nil {
		s.hook(old, rs, nil)
	}
	return true, nil
}

// Watch reloads the file when it changes until ctx ends. It watches the
// file's directory (editors and config managers replace files by rename)
// and also polls every poll interval, so it works where file events do not
// (some network and container mounts).
func (s *Source) Watch(ctx context.Context, poll time.Duration) error {
	if s.path == "" {
		<-ctx.Done()
		return nil
	}
	if poll <= 0 {
		poll = 5 * time.Second
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	w, err := fsnotify.NewWatcher()
	if err == nil {
		defer w.Close()
		if err = w.Add(filepath.Dir(s.path)); err == nil {
			events, errs = w.Events, w.Errors
		}
	}
	if err != nil {
		s.log.Warn("rule file watch unavailable, polling only", "path", s.path, "err", err)
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var debounce <-chan time.Time
	name := filepath.Clean(s.path)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			if filepath.Clean(ev.Name) == name {
				debounce = time.After(100 * time.Millisecond)
			}
		case err := <-errs:
			s.log.Warn("rule file watch error", "path", s.path, "err", err)
		case <-debounce:
			debounce = nil
			_, _ = s.Reload()
		case <-tick.C:
			_, _ = s.Reload()
		}
	}
}
