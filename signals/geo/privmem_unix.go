//go:build unix

package geo

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// privateCopy reads the size bytes of f into an anonymous private mapping
// of its own and makes it read-only, so that what lookups read can be
// neither truncated nor rewritten by anyone else: a database file mapped
// directly dies with SIGBUS when an operator truncates or rewrites it in
// place. The mapping is outside the Go heap: it does not inflate the
// garbage collector's heap goal, and release returns it to the system at
// once (Geo calls it when the last lookup on the generation ends).
func privateCopy(f *os.File, size int) (mem []byte, release func() error, err error) {
	mem, err = unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, nil, fmt.Errorf("private copy: %w", os.NewSyscallError("mmap", err))
	}
	release = func() error { return os.NewSyscallError("munmap", unix.Munmap(mem)) }
	if _, err = io.ReadFull(f, mem); err == nil {
		err = os.NewSyscallError("mprotect", unix.Mprotect(mem, unix.PROT_READ))
	}
	if err != nil {
		_ = release()
		return nil, nil, err
	}
	return mem, release, nil
}
