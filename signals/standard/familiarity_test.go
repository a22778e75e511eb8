package standard

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFamiliarityGlobalSnapshot: on embedded defaults the global counts
// survive a restart through the data dir; an unreadable snapshot starts
// from zero without stopping the server.
func TestFamiliarityGlobalSnapshot(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	x := familiarity.Features{IP: "192.0.2.1", Country: "GB", DeviceID: "d_1"}

	g, save, err := familiarityGlobal(dir, log)
	require.NoError(t, err)
	assert.Zero(t, g.Total())
	g.Add(x)
	g.Add(x)
	g.AddUser()
	require.NoError(t, save())

	g, _, err = familiarityGlobal(dir, log)
	require.NoError(t, err)
	assert.EqualValues(t, 2, g.Total())
	assert.EqualValues(t, 1, g.Users())
	assert.EqualValues(t, 2, g.Freq(familiarity.FeatureCountry, "GB"))

	file := filepath.Join(dir, FamiliaritySnapshotFile)
	require.NoError(t, os.WriteFile(file, []byte("garbage"), 0o600))
	g, save, err = familiarityGlobal(dir, log)
	require.NoError(t, err)
	assert.Zero(t, g.Total(), "an unreadable snapshot starts from zero")
	require.NoError(t, save())
}
