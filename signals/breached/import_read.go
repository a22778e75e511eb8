package breached

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

func (im *importer) readRangeFile(ctx context.Context, path, name string, prefix uint64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	im.stats.Files++
	return im.readStream(ctx, f, name, 35, prefix)
}

type countingReader struct {
	r io.Reader
	n *int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

var bom = []byte{0xef, 0xbb, 0xbf}

// readStream parses lines of hexDigits hex digits ':' count. For range
// files, prefix holds the 20-bit prefix taken from the file name.
func (im *importer) readStream(ctx context.Context, r io.Reader, name string, hexDigits int, prefix uint64) error {
	cr := countingReader{r: r, n: &im.stats.Bytes}
	if im.rd == nil {
		im.rd = bufio.NewReaderSize(cr, 1<<20)
	} else {
		im.rd.Reset(cr)
	}
	var lineNo int64
	minCount := im.opts.MinCount
	for {
		line, err := im.rd.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// An over-long line: malformed; skip the rest of it.
			lineNo++
			im.lines++
			im.stats.Lines++
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = im.rd.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("read corpus: %w", err)
			}
			if lerr := im.invalid(name, lineNo, errLongLine); lerr != nil {
				return lerr
			}
			if err != nil {
				break
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read corpus: %w", err)
		}
		if len(line) > 0 {
			lineNo++
			im.lines++
			if lineNo == 1 {
				line = bytes.TrimPrefix(line, bom)
			}
			if !blank(line) {
				im.stats.Lines++
				hi, count, perr := parseLine(line, hexDigits)
				switch {
				case perr != nil:
					if lerr := im.invalid(name, lineNo, perr); lerr != nil {
						return lerr
					}
				case count == 0 || count < minCount:
					im.stats.BelowMin++
				default:
					key := hi
					if hexDigits == 35 {
						key = prefix<<44 | hi>>20
					}
					if err := im.add(key, count); err != nil {
						return err
					}
				}
			}
			if im.lines&0xffff == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
				im.progress(Progress{Phase: PhaseRead, Bytes: im.stats.Bytes, Lines: im.lines})
			}
		}
		if err != nil { // io.EOF
			break
		}
	}
	return ctx.Err()
}

func blank(line []byte) bool {
	for _, c := range line {
		if c != '\n' && c != '\r' && c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

func (im *importer) invalid(name string, lineNo int64, reason error) error {
	le := LineError{File: name, Line: lineNo, Err: reason}
	if !im.opts.SkipInvalid {
		return &le
	}
	im.stats.Invalid++
	if len(im.stats.InvalidLines) < MaxInvalidReported {
		im.stats.InvalidLines = append(im.stats.InvalidLines, le)
	}
	return nil
}

// add spills one record: key (8 bytes LE) and count (4 bytes LE).
func (im *importer) add(key uint64, count uint32) error {
	b := key >> (64 - spillBits)
	buf := im.bufs[b]
	if buf == nil {
		buf = make([]byte, 0, spillBufSize)
	}
	buf = binary.LittleEndian.AppendUint64(buf, key)
	buf = binary.LittleEndian.AppendUint32(buf, count)
	im.counts[b]++
	if len(buf) > spillBufSize-12 {
		if err := im.flushBucket(b, buf); err != nil {
			return err
		}
		buf = buf[:0]
	}
	im.bufs[b] = buf
	return nil
}

func (im *importer) flushBucket(b uint64, buf []byte) error {
	if _, err := im.spill.WriteAt(buf, im.off); err != nil {
		return fmt.Errorf("write spill file: %w", err)
	}
	im.chunks[b] = append(im.chunks[b], spillChunk{off: im.off, n: int32(len(buf))})
	im.off += int64(len(buf))
	return nil
}
