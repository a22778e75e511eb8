package standard_test

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/signals/standard"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfigValidate: each out-of-range setting is refused with its YAML
// key named; defaults and deliberate opt-outs pass.
func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		change  func(c *standard.Config)
		wantErr string
	}{
		{name: "defaults", change: func(*standard.Config) {}},
		{name: "snapshot every minute", change: func(c *standard.Config) { c.Velocity.FamiliaritySnapshot = time.Minute }},
		{name: "snapshot at shutdown only", change: func(c *standard.Config) { c.Velocity.FamiliaritySnapshot = -1 }},
		{name: "snapshot too often", change: func(c *standard.Config) { c.Velocity.FamiliaritySnapshot = 10 * time.Millisecond },
			wantErr: "velocity.familiarity_snapshot 10ms: want at least 1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := standard.Config{DataDir: t.TempDir()}
			tc.change(&c)
			c.Defaults()
			err := c.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
	var c standard.Config
	c.Defaults()
	assert.Equal(t, standard.DefaultFamiliaritySnapshot, c.Velocity.FamiliaritySnapshot)
}
