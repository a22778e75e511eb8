//go:build unix

package promshard

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used, user and system: with
// RunParallel, ns/op is wall time divided over every P, which hides what
// contention costs, and other load on the machine skews it.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
