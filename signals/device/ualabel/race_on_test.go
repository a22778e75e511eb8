//go:build race

package ualabel

// raceEnabled: the race detector instruments allocations, so allocation
// counts measured under it say nothing about the code.
const raceEnabled = true
