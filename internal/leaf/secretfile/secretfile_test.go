package secretfile_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/riskauth/riskauth/internal/leaf/secretfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecret(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	file := filepath.Join(t.TempDir(), "device.key")

	got, err := secretfile.Secret("configured-value", file, log)
	require.NoError(t, err)
	assert.Equal(t, "configured-value", got)
	assert.NoFileExists(t, file, "a configured secret writes nothing")

	first, err := secretfile.Secret("", file, log)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(first), secretfile.MinLength)
	fi, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	again, err := secretfile.Secret("", file, log)
	require.NoError(t, err)
	assert.Equal(t, first, again, "the generated secret is kept across starts")

	require.NoError(t, os.WriteFile(file, []byte("short\n"), 0o600))
	_, err = secretfile.Secret("", file, log)
	assert.ErrorContains(t, err, "secret is too short")
}
