//go:build !unix

package promshard

import "time"

// processCPU is not measured here; the benchmarks report ns/op only.
func processCPU() (time.Duration, bool) { return 0, false }
