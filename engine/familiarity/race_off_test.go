//go:build !race

package familiarity

const raceEnabled = false
