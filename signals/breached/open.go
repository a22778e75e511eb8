package breached

import (
	"fmt"
	"io"
)

// Corpus is an opened full-corpus file: a *Table or a *Filter.
type Corpus interface {
	Checker
	Local
	io.Closer
	// Verify recomputes the file checksum.
	Verify() error
	// Len is the number of entries.
	Len() uint64
}

var (
	_ Corpus = (*Table)(nil)
	_ Corpus = (*Filter)(nil)
)

// Open memory-maps a file written by Import in either format.
func Open(path string) (Corpus, error) {
	m, err := openMapped(path)
	if err != nil {
		return nil, err
	}
	var c Corpus
	switch m.hdr.magic {
	case magicTable:
		c, err = newTable(m)
	default:
		c, err = newFilter(m)
	}
	if err != nil {
		_ = unmap(m.data)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
