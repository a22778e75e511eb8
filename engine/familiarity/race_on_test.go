//go:build race

package familiarity

// raceEnabled: the race detector instruments allocations, so allocation
// counts measured under it say nothing about the code.
const raceEnabled = true
