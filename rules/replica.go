package rules

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/riskauth/riskauth/internal/leaf/atomicfile"
)

// Shared is the part of a Source that instances running one service share
// (signals/standard's rule sync keeps it in Redis): the active rule file
// and the candidate, as their source bytes, so that each instance compiles
// them against its own schema and lists.
type Shared struct {
	// Active is the active rule file.
	Active []byte
	// Candidate is the candidate file, nil when there is none.
	Candidate []byte
	// Gen is the Source's count of local changes when the snapshot was
	// taken (Snapshot); Apply refuses a state when a local change came
	// after it.
	Gen int64
}

// ErrLocalChange: Apply was given a state older than a change made on
// this instance that has not been shared yet; the caller shares its own
// state instead.
var ErrLocalChange = errors.New("a local rule change is not shared yet")

// Snapshot returns the state to share: the active and candidate files,
// and the count of local changes it includes.
func (s *Source) Snapshot() Shared {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := Shared{Active: s.cur.Load().Source(), Gen: s.gen.Load()}
	if c := s.cand.Load(); c != nil {
		sh.Candidate = c.Source()
	}
	return sh
}

// Changes is the count of changes made on this instance (promotes,
// rollbacks, candidate changes, reloads from disk): a sharer compares it
// with the Gen of the last snapshot it shared.
func (s *Source) Changes() int64 { return s.gen.Load() }

// Apply makes sh's files the active and candidate sets, as another
// instance changed them, provided no change was made here since gen
// (ErrLocalChange otherwise). It is not audited: the instance that made
// the change audited it, once. Like a local change it is written to the
// rule (and candidate) file first, and an invalid or unwritable file
// changes nothing. The history follows the change: the replaced version
// is kept for rollback, unless the new version is the last one kept (a
// rollback elsewhere), which is then dropped, as on the instance that
// rolled back. It reports whether anything changed.
func (s *Source) Apply(sh Shared, gen int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen.Load() != gen {
		return false, ErrLocalChange
	}
	changed := false
	if old := s.cur.Load(); !bytes.Equal(old.Source(), sh.Active) {
		rs, err := s.install(sh.Active, false)
		if err != nil {
			return false, fmt.Errorf("apply shared rules: %w", err)
		}
		at := s.now()
		if last, ok := s.hist.last(); ok && bytes.Equal(last.src, sh.Active) {
			s.hist.drop()
		} else if err := s.hist.push(old, at); err != nil {
			s.log.Warn("rule history not written; rollback still works until restart", "err", err)
		}
		s.cur.Store(rs)
		s.loadedAt.Store(at.UnixNano())
		s.log.Info("rule file activated from the shared state", "path", s.path, "version", rs.Version, "previous", old.Version)
		if s.hook != nil {
			s.hook(old, rs, nil)
		}
		changed = true
	}
	cand := s.cand.Load()
	switch {
	case sh.Candidate == nil && cand != nil:
		if err := s.removeCandidateFile(); err != nil {
			return changed, fmt.Errorf("apply shared candidate: %w", err)
		}
		s.storeCandidate(nil)
		changed = true
	case sh.Candidate != nil && (cand == nil || !bytes.Equal(cand.Source(), sh.Candidate)):
		name := s.candPath
		if name == "" {
			name = "candidate.yaml"
		}
		rs, err := Compile(name, sh.Candidate, s.schema, s.compileOpts()...)
		if err == nil && s.candPath != "" {
			if err = atomicfile.Write(s.candPath, sh.Candidate, 0o644); err != nil {
				err = fmt.Errorf("%w: %w", ErrNotPersisted, err)
			}
		}
		if err != nil {
			return changed, fmt.Errorf("apply shared candidate: %w", err)
		}
		s.storeCandidate(rs)
		changed = true
	}
	return changed, nil
}

// storeCandidate replaces the candidate without an audit event; s.mu is
// held.
func (s *Source) storeCandidate(rs *RuleSet) {
	s.cand.Store(rs)
	s.candAt.Store(s.now().UnixNano())
	v := ""
	if rs != nil {
		v = rs.Version
	}
	s.log.Info("candidate rule set changed from the shared state", "version", v)
}

// ModTime is the newest modification time of the rule and candidate
// files, zero when neither is a file: a sharer starting up compares it
// with the shared state's time to tell which is newer.
func (s *Source) ModTime() time.Time {
	var t time.Time
	for _, p := range []string{s.path, s.candPath} {
		if p == "" {
			continue
		}
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}
