//go:build !unix

package breached

import (
	"io"
	"os"
)

// mapFile reads the whole file into memory where mmap is not available.
func mapFile(f *os.File, size int64) ([]byte, error) {
	b := make([]byte, size)
	_, err := io.ReadFull(f, b)
	return b, err
}

func unmap([]byte) error { return nil }
