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

	"github.com/riskauth/riskauth/internal/leaf/atomicfile"
)

// Source holds the active rule set and replaces it when its file changes.
// An invalid file never replaces a valid set: the old one stays active and
// the failure is reported through the OnChange hook.
//
// It also holds the candidate rule set, evaluated in shadow beside the
// active one, and the history of previously active versions: promote,
// rollback and candidate changes go through it so that the running set,
// the file on disk and the audit trail always agree.
type Source struct {
	path     string
	candPath string
	schema   *Schema
	opts     []Option
	cur      atomic.Pointer[RuleSet]
	cand     atomic.Pointer[RuleSet]
	loadedAt atomic.Int64 // unix nanos the active set became active
	candAt   atomic.Int64 // unix nanos the candidate was loaded
	mu       sync.Mutex   // serialises reloads, promotes, rollbacks, candidate changes
	hist     *history
	hook     func(old, cur *RuleSet, err error)
	// gen counts the changes made here (audited), not those applied from
	// other instances (replica.go), so that a replicated state never
	// overwrites a local change not yet shared.
	gen   atomic.Int64
	audit func(Change)
	now   func() time.Time
	log   *slog.Logger
}

// SourceConfig configures a Source.
type SourceConfig struct {
	// Path is the rule file; empty means the embedded default rule file,
	// which changes only through Promote and Rollback (in memory).
	Path string
	// CandidatePath, when set, is a rule file loaded as the candidate and
	// hot-reloaded like Path; a missing file means no candidate. Candidate
	// changes through the Source are written there too.
	CandidatePath string
	Schema        *Schema
	// Options apply to every compile (lists, ...).
	Options []Option
	// OnChange is called after every reload attempt: with the new set on
	// success, with err on failure (cur is then the set still active).
	OnChange func(old, cur *RuleSet, err error)
	// OnAudit is called after every change of the active or candidate set,
	// whoever made it (see Change).
	OnAudit func(Change)
	// HistorySize bounds the versions kept for rollback (default 10).
	HistorySize int
	// Now is the clock of change times (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Actions a Change reports.
const (
	ActionReload          = "reload"           // the active file changed on disk
	ActionPromote         = "promote"          // a candidate or a given file became active
	ActionRollback        = "rollback"         // the previous version became active again
	ActionCandidateSet    = "candidate_set"    // a candidate was loaded
	ActionCandidateClear  = "candidate_clear"  // the candidate was removed
	ActionCandidateReload = "candidate_reload" // the candidate file changed on disk
)

// ActorFileWatcher is the actor of changes read from disk.
const ActorFileWatcher = "file-watcher"

// Change is one audited change of the active or candidate rule set.
type Change struct {
	Action string
	// Actor is who made it: an admin key's name, or ActorFileWatcher.
	Actor string
	At    time.Time
	// OldVersion and NewVersion are the versions before and after; empty
	// means none (no candidate).
	OldVersion, NewVersion string
	// Candidate reports a change of the candidate rather than the active set.
	Candidate bool
}

// Errors of the change operations; callers branch on them.
var (
	// ErrVersionMismatch: the active version is not the one the caller
	// expected (someone else changed it meanwhile).
	ErrVersionMismatch = errors.New("the active rule set version is not the expected one")
	// ErrNoCandidate: Promote without a file and without a candidate.
	ErrNoCandidate = errors.New("no candidate rule set is loaded")
	// ErrNoHistory: Rollback with no previous version kept.
	ErrNoHistory = errors.New("no previous rule set version to roll back to")
	// ErrNotPersisted: the rule or candidate file could not be written (a
	// read-only mount, a full disk, a removed directory). Nothing changed:
	// the running sets stay as they were, so disk and memory agree.
	ErrNotPersisted = errors.New("the rule file could not be written")
)

// NewSource loads the rule file once; an invalid file is an error here,
// since there is nothing to fall back to. An invalid candidate file is
// logged and ignored: the service can run without a candidate.
func NewSource(cfg SourceConfig) (*Source, error) {
	if cfg.Schema == nil {
		return nil, errors.New("rules source: schema is required")
	}
	if cfg.HistorySize <= 0 {
		cfg.HistorySize = DefaultHistorySize
	}
	s := &Source{path: cfg.Path, candPath: cfg.CandidatePath, schema: cfg.Schema, opts: cfg.Options,
		hook: cfg.OnChange, audit: cfg.OnAudit, now: cfg.Now, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
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
	s.loadedAt.Store(s.now().UnixNano())
	if s.hist, err = loadHistory(historyDir(cfg.Path), cfg.HistorySize); err != nil {
		s.log.Warn("rule history unreadable, starting with none", "err", err)
	}
	if s.candPath != "" {
		if _, err := s.ReloadCandidate(); err != nil {
			s.log.Warn("candidate rule file rejected at start", "path", s.candPath, "err", err)
		}
	}
	return s, nil
}

// Current returns the active rule set.
func (s *Source) Current() *RuleSet { return s.cur.Load() }

// Candidate returns the candidate rule set, nil when none is loaded.
func (s *Source) Candidate() *RuleSet { return s.cand.Load() }

// Status is a consistent snapshot of a Source, for the admin API.
type Status struct {
	Active *RuleSet
	// Path is the active rule file, "" for the embedded default.
	Path     string
	LoadedAt time.Time
	// Persistent reports whether promotes and rollbacks are written to
	// disk; with the embedded default rule file they live in memory and
	// are lost on restart.
	Persistent bool
	// Candidate is nil when none is loaded.
	Candidate *RuleSet
	// CandidatePath is "" when candidates live in memory only.
	CandidatePath     string
	CandidateLoadedAt time.Time
	// History are the versions that can be rolled back to, most recent
	// first.
	History []HistoryEntry
}

// Status returns a consistent snapshot: no change happens half-way
// through it.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{Active: s.cur.Load(), Path: s.path, LoadedAt: time.Unix(0, s.loadedAt.Load()).UTC(), Persistent: s.path != "",
		Candidate: s.cand.Load(), CandidatePath: s.candPath, History: s.hist.list()}
	if st.Candidate != nil {
		st.CandidateLoadedAt = time.Unix(0, s.candAt.Load()).UTC()
	}
	return st
}

// Compile compiles rule file content as the active file would be (same
// schema, options and list directory) without activating it, so that its
// version is the one it will have once promoted. name labels errors.
func (s *Source) Compile(name string, src []byte) (*RuleSet, error) {
	return Compile(name, src, s.schema, s.compileOpts()...)
}

func (s *Source) compileOpts() []Option {
	if s.path == "" {
		return s.opts
	}
	return append([]Option{WithBaseDir(filepath.Dir(s.path))}, s.opts...)
}

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
		rs, err = Compile(s.path, src, s.schema, s.compileOpts()...)
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
	s.activate(old, rs, ActionReload, ActorFileWatcher, true)
	return true, nil
}

// activate makes rs the active set; s.mu is held. pushHistory keeps old
// for rollback (everything but a rollback itself).
func (s *Source) activate(old, rs *RuleSet, action, actor string, pushHistory bool) {
	at := s.now()
	if pushHistory {
		if err := s.hist.push(old, at); err != nil {
			s.log.Warn("rule history not written; rollback still works until restart", "err", err)
		}
	}
	s.cur.Store(rs)
	s.loadedAt.Store(at.UnixNano())
	s.log.Info("rule file activated", "path", s.path, "version", rs.Version, "previous", old.Version,
		"rules", len(rs.Rules), "action", action, "actor", actor)
	if s.hook != nil {
		s.hook(old, rs, nil)
	}
	s.emit(Change{Action: action, Actor: actor, At: at, OldVersion: old.Version, NewVersion: rs.Version})
}

func (s *Source) emit(c Change) {
	s.gen.Add(1)
	if s.audit != nil {
		s.audit(c)
	}
}

// Promote makes src (or, when src is nil, the candidate) the active rule
// set, provided the active version is still expected and the file's own
// test cases pass (*CasesFailedError otherwise). With a rule file
// path the file is replaced atomically first, so that the disk and the
// running set agree and the hot reloader sees the same version. A promoted
// candidate stops being the candidate.
func (s *Source) Promote(src []byte, expected, actor string) (*RuleSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	if expected != old.Version {
		return nil, fmt.Errorf("promote: active version is %s, expected %q: %w", old.Version, expected, ErrVersionMismatch)
	}
	fromCandidate := src == nil
	if fromCandidate {
		c := s.cand.Load()
		if c == nil {
			return nil, fmt.Errorf("promote: %w", ErrNoCandidate)
		}
		src = c.Source()
	}
	rs, err := s.install(src, true)
	if err != nil {
		return nil, fmt.Errorf("promote: %w", err)
	}
	if fromCandidate {
		// No candidate_clear event: the promote event says it all.
		if err := s.removeCandidateFile(); err != nil {
			s.log.Warn("promoted candidate still on disk", "path", s.candPath, "err", err)
		}
		s.cand.Store(nil)
	}
	s.activate(old, rs, ActionPromote, actor, true)
	return rs, nil
}

// install compiles src, checks its test cases when asked to (a rolled-back
// version is trusted as it was), and with a rule file path writes it
// there; s.mu is held.
func (s *Source) install(src []byte, checkCases bool) (*RuleSet, error) {
	name := s.path
	if name == "" {
		name = "default.yaml"
	}
	rs, err := Compile(name, src, s.schema, s.compileOpts()...)
	if err != nil {
		return nil, err
	}
	if checkCases {
		if err := passingCases(rs); err != nil {
			return nil, err
		}
	}
	if s.path != "" {
		if err := atomicfile.Write(s.path, src, 0o644); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotPersisted, err)
		}
	}
	return rs, nil
}

// Rollback re-activates the most recently replaced version; expected, when
// not empty, must be the active version. The version rolled back from is
// not kept: rolling back twice goes two versions back.
func (s *Source) Rollback(expected, actor string) (*RuleSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur.Load()
	if expected != "" && expected != old.Version {
		return nil, fmt.Errorf("rollback: active version is %s, expected %q: %w", old.Version, expected, ErrVersionMismatch)
	}
	prev, ok := s.hist.last()
	if !ok {
		return nil, fmt.Errorf("rollback: %w", ErrNoHistory)
	}
	rs, err := s.install(prev.src, false)
	if err != nil {
		return nil, fmt.Errorf("rollback to %s: %w", prev.Version, err)
	}
	s.hist.drop()
	s.activate(old, rs, ActionRollback, actor, false)
	return rs, nil
}

// SetCandidate compiles src and loads it as the candidate (written to the
// candidate file when there is one). An invalid file, or one whose own
// test cases fail (*CasesFailedError), changes nothing.
func (s *Source) SetCandidate(src []byte, actor string) (*RuleSet, error) {
	name := s.candPath
	if name == "" {
		name = "candidate.yaml"
	}
	rs, err := s.Compile(name, src)
	if err == nil {
		err = passingCases(rs)
	}
	if err != nil {
		return nil, fmt.Errorf("candidate: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.candPath != "" {
		if err := atomicfile.Write(s.candPath, src, 0o644); err != nil {
			return nil, fmt.Errorf("candidate: %w: %w", ErrNotPersisted, err)
		}
	}
	s.setCandidate(rs, ActionCandidateSet, actor)
	return rs, nil
}

// setCandidate stores rs (nil: none) as the candidate; s.mu is held.
func (s *Source) setCandidate(rs *RuleSet, action, actor string) {
	old := s.cand.Swap(rs)
	at := s.now()
	s.candAt.Store(at.UnixNano())
	c := Change{Action: action, Actor: actor, At: at, Candidate: true}
	if old != nil {
		c.OldVersion = old.Version
	}
	if rs != nil {
		c.NewVersion = rs.Version
	}
	s.log.Info("candidate rule set changed", "action", action, "actor", actor, "version", c.NewVersion, "previous", c.OldVersion)
	s.emit(c)
}

// ClearCandidate removes the candidate (and its file); it reports whether
// there was one.
func (s *Source) ClearCandidate(actor string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cand.Load() == nil {
		return false, nil
	}
	if err := s.removeCandidateFile(); err != nil {
		return false, fmt.Errorf("candidate: %w", err)
	}
	s.setCandidate(nil, ActionCandidateClear, actor)
	return true, nil
}

// removeCandidateFile removes the candidate file, if any; s.mu is held.
func (s *Source) removeCandidateFile() error {
	if s.candPath == "" {
		return nil
	}
	if err := os.Remove(s.candPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// ReloadCandidate re-reads the candidate file: a missing file removes the
// candidate, a valid new version replaces it, an invalid one is reported
// and changes nothing. It reports whether the candidate changed.
func (s *Source) ReloadCandidate() (bool, error) {
	if s.candPath == "" {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cand.Load()
	src, err := os.ReadFile(s.candPath)
	if errors.Is(err, os.ErrNotExist) {
		if old == nil {
			return false, nil
		}
		s.setCandidate(nil, ActionCandidateReload, ActorFileWatcher)
		return true, nil
	}
	var rs *RuleSet
	if err == nil {
		rs, err = Compile(s.candPath, src, s.schema, s.compileOpts()...)
	}
	if err != nil {
		err = fmt.Errorf("reload candidate rules %s: %w", s.candPath, err)
		s.log.Error("candidate rule file rejected", "path", s.candPath, "err", err)
		return false, err
	}
	if old != nil && old.Version == rs.Version {
		return false, nil
	}
	s.setCandidate(rs, ActionCandidateReload, ActorFileWatcher)
	return true, nil
}

// Watch reloads the files when they change until ctx ends. It watches the
// files' directories (editors and config managers replace files by
// rename) and also polls every poll interval, so it works where file
// events do not (some network and container mounts).
func (s *Source) Watch(ctx context.Context, poll time.Duration) error {
	if s.path == "" && s.candPath == "" {
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
		for _, p := range []string{s.path, s.candPath} {
			if p != "" && err == nil {
				err = w.Add(filepath.Dir(p))
			}
		}
		if err == nil {
			events, errs = w.Events, w.Errors
		}
	}
	if err != nil {
		s.log.Warn("rule file watch unavailable, polling only", "path", s.path, "err", err)
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	var debounce <-chan time.Time
	name, cand := filepath.Clean(s.path), filepath.Clean(s.candPath)
	reload := func() {
		_, _ = s.Reload()
		_, _ = s.ReloadCandidate()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-events:
			if n := filepath.Clean(ev.Name); (s.path != "" && n == name) || (s.candPath != "" && n == cand) {
				debounce = time.After(100 * time.Millisecond)
			}
		case err := <-errs:
			s.log.Warn("rule file watch error", "path", s.path, "err", err)
		case <-debounce:
			debounce = nil
			reload()
		case <-tick.C:
			reload()
		}
	}
}
