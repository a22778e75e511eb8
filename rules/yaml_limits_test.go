package rules

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The admin API compiles rule files sent to it (YAML, within the server's
// body limit: 64 KiB by default). The JSON nesting check does not apply to
// YAML (a plain scalar such as an expr condition may hold brackets), so
// the YAML library's own limits are what bound a hostile file: it refuses
// nesting past 10,000 levels, flow ([[[ or {{{) or block (- - - or
// indentation). These tests pin those limits and what refusing costs, so
// that a library upgrade that dropped them would show.

// yamlBombs are rule files at the default body limit that nest as deep as
// the bytes allow.
func yamlBombs() map[string]string {
	const size = 64 << 10
	head := "version: 1\nrules: "
	return map[string]string{
		"flow sequences":  head + strings.Repeat("[", size-len(head)),
		"flow mappings":   head + strings.Repeat("{a: ", (size-len(head))/4),
		"block sequences": head + "\n  " + strings.Repeat("- ", (size-len(head))/2) + "x\n",
	}
}

func TestYAMLNestingRefused(t *testing.T) {
	t.Parallel()
	for name, src := range yamlBombs() {
		_, err := Compile("body", []byte(src), nil)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "exceeded max depth of 10000", name)
	}
}

// TestYAMLNestingWorkIsBounded measures the heap bytes refusing each bomb
// costs (MemStats deltas, so not parallel): a few MB each, where the
// recursion is bounded by the library's 10,000 levels.
func TestYAMLNestingWorkIsBounded(t *testing.T) {
	for name, src := range yamlBombs() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Compile("body", []byte(src), nil)
		runtime.ReadMemStats(&after)
		require.Error(t, err)
		alloc := after.TotalAlloc - before.TotalAlloc
		t.Logf("%s: %d bytes, %.1f MB allocated", name, len(src), float64(alloc)/1e6)
		assert.Less(t, alloc, uint64(32<<20), name)
	}
}
