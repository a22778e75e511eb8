//go:build unix

package breached

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time, to measure throughput
// independently of other load on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
