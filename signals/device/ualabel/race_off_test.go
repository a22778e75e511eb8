//go:build !race

package ualabel

const raceEnabled = false
