package loadgen

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Spawn and Ready are exercised by cmd/riskload's and cmd/authload's
// -spawn tests, which run the real child servers.

func TestStartCPUProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.prof")
	stop, err := StartCPUProfile(path)
	require.NoError(t, err)
	stop()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Positive(t, fi.Size(), "a profile, even of nothing, has a header")
	_, err = StartCPUProfile(filepath.Join(t.TempDir(), "missing", "cpu.prof"))
	require.Error(t, err)
}
