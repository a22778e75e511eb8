package standard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/internal/leaf/atomicfile"
	"github.com/riskauth/riskauth/internal/leaf/privfile"
)

// FamiliaritySnapshotFile is where in-memory state keeps the global
// familiarity counts between runs, in the data dir (Redis keeps them
// itself, shared by every instance).
const FamiliaritySnapshotFile = "familiarity-global.bin"

// DefaultFamiliaritySnapshot is how often, on in-memory state, the global
// familiarity counts are written to the data dir besides at shutdown: what
// a crash (kill -9, OOM kill, power loss) can lose at most. One write is
// 4.5 MiB, made only when something was learnt since the last one.
const DefaultFamiliaritySnapshot = 5 * time.Minute

// famSnapshots keeps the in-process global familiarity counts in the data
// dir: loaded at New, written periodically by Start's goroutine (so that
// a crash loses at most one interval of learning) and once more at Close.
// Writes are atomic (a crash mid-write leaves the previous snapshot) and
// serialised; a write is skipped when the counts have not changed since
// the last one (Add and Merge always move Total, so equal totals mean
// equal counts).
type famSnapshots struct {
	g    *familiarity.Global
	file string
	log  *slog.Logger
	now  func() time.Time
	m    *snapshotMetrics // nil: no metrics

	mu         sync.Mutex
	written    bool   // the file holds what savedTotal and savedUsers say
	savedTotal uint64 // Total and Users of the last write or load
	savedUsers uint64
}

// openFamSnapshots returns the in-process global familiarity counts the
// engine scores against on embedded defaults, loaded from the snapshot
// the last run left in dataDir. A missing or unreadable snapshot starts
// from zero (scores are cold_start until 1000 sign-ins are counted), never
// stops the server.
//
// With Redis it is not called: the Redis state store keeps the counts in
// Redis, shared by every instance (engine.FamiliarityCountsKeeper), and
// the engine keeps no Global of its own.
func openFamSnapshots(dataDir string, size familiarity.GlobalConfig, log *slog.Logger, now func() time.Time, m *snapshotMetrics) (*famSnapshots, error) {
	g, err := familiarity.NewGlobal(size)
	if err != nil {
		return nil, fmt.Errorf("familiarity global counts: %w", err)
	}
	s := &famSnapshots{g: g, file: filepath.Join(dataDir, FamiliaritySnapshotFile), log: log, now: now, m: m}
	data, err := os.ReadFile(s.file)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		log.Warn("familiarity global counts not loaded: starting from zero", "file", s.file, "err", err)
	default:
		loaded := new(familiarity.Global)
		if err := loaded.UnmarshalBinary(data); err != nil {
			log.Warn("familiarity global counts not loaded: starting from zero", "file", s.file, "err", err)
		} else if err := g.Merge(loaded); err != nil {
			log.Warn("familiarity global counts not loaded: starting from zero", "file", s.file, "err", err)
		} else {
			s.written, s.savedTotal, s.savedUsers = true, g.Total(), g.Users()
			log.Info("familiarity global counts loaded", "file", s.file, "logins", g.Total(), "users", g.Users())
		}
	}
	return s, nil
}

// save writes the counts to the snapshot file atomically, unless the file
// already holds them and force is false. It logs its own failures: the
// periodic goroutine and Close have no one else to tell.
func (s *famSnapshots) save(force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	total, users := s.g.Total(), s.g.Users()
	if !force && s.written && total == s.savedTotal && users == s.savedUsers {
		s.m.saved(s.now())
		return nil
	}
	data, err := s.g.MarshalBinary()
	if err == nil {
		// Private like everything in the data dir (privfile; issue 17,
		// item 9): a file an older version left looser is tightened by
		// the daemon at start, and keeps that mode from then on.
		err = atomicfile.Write(s.file, data, privfile.FileMode)
	}
	if err != nil {
		err = fmt.Errorf("familiarity global counts: %w", err)
		s.log.Warn("familiarity global counts not saved", "file", s.file, "err", err)
		s.m.failed()
		return err
	}
	// MarshalBinary read the totals before the counters: Adds that raced
	// with it may be in the file only partly, so the totals read first
	// are what the file is known to hold.
	s.written, s.savedTotal, s.savedUsers = true, total, users
	s.m.saved(s.now())
	s.log.Debug("familiarity global counts saved", "file", s.file, "logins", total, "users", users)
	return nil
}

// close writes the last snapshot, once nothing evaluates any more. It
// writes even when nothing changed, as every shutdown did before periodic
// snapshots: a file removed by hand while the server ran is back.
func (s *famSnapshots) close() error {
	if err := s.save(true); err != nil {
		return err
	}
	s.log.Info("familiarity global counts saved", "file", s.file, "logins", s.g.Total())
	return nil
}

// run saves a snapshot on every tick until ctx ends, and hands each
// save's result to done when it is not nil (a test waits on it). Its
// writes happen on this goroutine, never on an evaluation's: the 4.5 MiB
// copy and the fsync stay off the request path.
func (s *famSnapshots) run(ctx context.Context, ticks <-chan time.Time, done chan<- error) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			err := s.save(false) // logged and counted by save
			if done != nil {
				done <- err
			}
		}
	}
}
