package standard

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/internal/leaf/atomicfile"
)

// FamiliaritySnapshotFile is where in-memory state keeps the global
// familiarity counts between runs, in the data dir (Redis keeps them
// itself, shared by every instance).
const FamiliaritySnapshotFile = "familiarity-global.bin"

// familiarityGlobal returns the in-process global familiarity counts the
// engine scores against on embedded defaults: it loads the snapshot the
// last shutdown left in dataDir and returns a closer that writes it back;
// a missing or unreadable snapshot starts from zero (scores are cold_start
// until 1000 sign-ins are counted), never stops the server.
//
// With Redis it is not called: the Redis state store keeps the counts in
// Redis, shared by every instance (engine.FamiliarityCountsKeeper), and
// the engine keeps no Global of its own.
func familiarityGlobal(dataDir string, log *slog.Logger) (*familiarity.Global, func() error, error) {
	g, err := familiarity.NewGlobal(familiarity.GlobalConfig{})
	if err != nil {
		return nil, nil, fmt.Errorf("familiarity global counts: %w", err)
	}
	file := filepath.Join(dataDir, FamiliaritySnapshotFile)
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		log.Warn("familiarity global counts not loaded: starting from zero", "file", file, "err", err)
	default:
		loaded := new(familiarity.Global)
		if err := loaded.UnmarshalBinary(data); err != nil {
			log.Warn("familiarity global counts not loaded: starting from zero", "file", file, "err", err)
		} else if err := g.Merge(loaded); err != nil {
			log.Warn("familiarity global counts not loaded: starting from zero", "file", file, "err", err)
		} else {
			log.Info("familiarity global counts loaded", "file", file, "logins", g.Total(), "users", g.Users())
		}
	}
	return g, func() error {
		// Closer errors are not reported by the caller: log here.
		if err := saveFamiliarityGlobal(g, file); err != nil {
			log.Warn("familiarity global counts not saved", "file", file, "err", err)
			return err
		}
		log.Info("familiarity global counts saved", "file", file, "logins", g.Total())
		return nil
	}, nil
}

// saveFamiliarityGlobal replaces the snapshot in file atomically, so that
// a crash mid-write leaves the previous one.
func saveFamiliarityGlobal(g *familiarity.Global, file string) error {
	data, err := g.MarshalBinary()
	if err == nil {
		err = atomicfile.Write(file, data, 0o600)
	}
	if err != nil {
		return fmt.Errorf("familiarity global counts: %w", err)
	}
	return nil
}
