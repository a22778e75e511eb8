package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// DropLines replaces path with a copy without the lines drop reports
// (newline included), atomically like Write, and returns how many went.
// The caller keeps other writers out meanwhile and reopens its own
// handles afterwards (they point at the replaced file).
func DropLines(path string, drop func(line []byte) bool) (int, error) {
	in, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("drop lines of %s: %w", path, err)
	}
	defer in.Close()
	removed := 0
	err = WriteFunc(path, 0o600, func(w io.Writer) error {
		r := bufio.NewReaderSize(in, 64<<10)
		for {
			line, err := r.ReadSlice('\n')
			if err == bufio.ErrBufferFull {
				// A line longer than the buffer: gather the rest of it.
				long := append([]byte(nil), line...)
				for err == bufio.ErrBufferFull {
					line, err = r.ReadSlice('\n')
					long = append(long, line...)
				}
				line = long
			}
			if len(line) > 0 {
				if drop(line) {
					removed++
				} else if _, werr := w.Write(line); werr != nil {
					return werr
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
		}
	})
	return removed, err
}
