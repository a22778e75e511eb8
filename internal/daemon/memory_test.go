package daemon_test

import (
	"log/slog"
	"math"
	"runtime/debug"
	"testing"

	"github.com/riskauth/riskauth/internal/daemon"
	"github.com/riskauth/riskauth/signals/standard"
	"github.com/stretchr/testify/assert"
)

// TestApplyMemoryLimit: the budget's Go limit is set unless GOMEMLIMIT
// was given, which is left as the runtime applied it. Not parallel: the
// limit is the process's; it is restored afterwards.
func TestApplyMemoryLimit(t *testing.T) {
	was := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(was) })
	log := slog.New(slog.DiscardHandler)
	plan := standard.PlanMemory(512 * standard.MiB)
	for _, tc := range []struct {
		name    string
		vars    map[string]string
		current int64 // the limit before the call, as the runtime set it
		want    int64
	}{
		{name: "from memory_limit", current: math.MaxInt64, want: int64(448 * standard.MiB)},
		{name: "GOMEMLIMIT kept", vars: map[string]string{"GOMEMLIMIT": "300MiB"}, current: int64(300 * standard.MiB), want: int64(300 * standard.MiB)},
		{name: "GOMEMLIMIT off kept", vars: map[string]string{"GOMEMLIMIT": "off"}, current: math.MaxInt64, want: math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetMemoryLimit(tc.current)
			got := daemon.ApplyMemoryLimit(plan, func(k string) string { return tc.vars[k] }, log)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.want, debug.SetMemoryLimit(-1), "the runtime's limit")
		})
	}
}
