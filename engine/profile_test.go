package engine_test

import (
	"testing"

	"github.com/riskauth/riskauth/engine"
	"github.com/stretchr/testify/assert"
)

func TestHasASN(t *testing.T) {
	p := &engine.Profile{ASNs: []engine.Seen{{Value: "64496"}, {Value: "14593"}, {Value: "7"}}}
	for a, want := range map[int]bool{64496: true, 14593: true, 7: true, 8: false, 6449: false, 644960: false, 0: false} {
		assert.Equal(t, want, p.HasASN(a), a)
	}
	// Called on every evaluation with geo data: it must not allocate.
	assert.Zero(t, testing.AllocsPerRun(100, func() { p.HasASN(64496) }))
}
