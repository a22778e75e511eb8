package breached

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrMalformed is wrapped by the *LineError an import returns for a line
// that is not HASH:COUNT.
var ErrMalformed = errors.New("malformed corpus line")

// LineError locates a malformed corpus line.
type LineError struct {
	File string // range-layout file name, empty for a stream
	Line int64  // 1-based line number within the stream or file
	Err  error  // the reason
}

func (e *LineError) Error() string {
	if e.File != "" {
		return fmt.Sprintf("%s:%d: %s: %v", e.File, e.Line, ErrMalformed, e.Err)
	}
	return fmt.Sprintf("line %d: %s: %v", e.Line, ErrMalformed, e.Err)
}

// Unwrap returns the reason.
func (e *LineError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrMalformed) true.
func (e *LineError) Is(target error) bool { return target == ErrMalformed }

// ImportOptions tune an import. The zero value builds a filter with the
// default fingerprint size, keeps every entry and stops at the first
// malformed line.
type ImportOptions struct {
	// Format is FormatFilter (default) or FormatTable.
	Format Format
	// MinCount drops entries seen fewer than MinCount times (0 and 1 keep
	// all). Zero-count lines (range-API padding) are always dropped.
	MinCount uint32
	// FingerprintBits is the filter fingerprint size, 8..16 (default 15):
	// false-positive rate 2^-bits, about 1.125*bits/8 bytes per entry.
	FingerprintBits int
	// SkipInvalid skips malformed lines, counting them in Stats, instead of
	// failing the import with a *LineError.
	SkipInvalid bool
	// TempDir holds the spill file (12 bytes per kept line, removed at the
	// end); default: the output's directory.
	TempDir string
	// TotalBytes is the input size when known, only passed on to Progress.
	TotalBytes int64
	// Progress, when set, is called from the importing goroutine every
	// 65536 lines while reading and after every bucket while building.
	Progress func(Progress)
}

// Phase is the stage an import is in.
type Phase string

// Import phases.
const (
	PhaseRead  Phase = "read"  // parsing the input into spill buckets
	PhaseBuild Phase = "build" // sorting buckets and writing the output
)

// Progress reports how far an import is.
type Progress struct {
	Phase      Phase
	Bytes      int64 // input bytes consumed
	TotalBytes int64 // input size, 0 when unknown
	Lines      int64 // input lines read
	Done       int   // buckets finished (build phase)
	Total      int   // buckets in all (build phase)
}

// MaxInvalidReported bounds Stats.InvalidLines.
const MaxInvalidReported = 10

// Stats describe a finished (or failed) import.
type Stats struct {
	Format       Format
	Lines        int64       // input lines with content
	Bytes        int64       // input bytes read
	Files        int         // range-layout files read
	Invalid      int64       // malformed lines skipped (SkipInvalid)
	InvalidLines []LineError // the first MaxInvalidReported of them
	BelowMin     int64       // lines dropped by MinCount or a zero count
	Duplicates   int64       // lines whose (truncated) hash was already present
	Entries      uint64      // entries in the output
	OutputBytes  int64       // size of the output file
	ShardBits    int         // filter: log2 of the shard count
}

// Import reads a Pwned Passwords corpus in the downloadable single-file
// layout (SHA1HEX:COUNT lines, any order, LF or CRLF) from r and writes
// the chosen structure to out, atomically: on any error or cancellation
// nothing is left at out (an existing file there is kept unchanged).
func Import(ctx context.Context, r io.Reader, out string, opts ImportOptions) (Stats, error) {
	im, err := newImporter(out, opts)
	if err != nil {
		return Stats{}, err
	}
	defer im.cleanup()
	if err := im.readStream(ctx, r, "", 40, 0); err != nil {
		return im.stats, err
	}
	return im.build(ctx)
}

// ImportDir reads the range layout of the official downloader: a
// directory of files named by a 5-hex-digit prefix (optionally with a
// .txt extension) whose lines are SUFFIX:COUNT with a 35-hex-digit suffix.
// Other files are ignored. The output is written as by Import.
func ImportDir(ctx context.Context, dir, out string, opts ImportOptions) (Stats, error) {
	im, err := newImporter(out, opts)
	if err != nil {
		return Stats{}, err
	}
	defer im.cleanup()
	d, err := os.Open(dir)
	if err != nil {
		return im.stats, err
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(4096)
		for _, e := range ents {
			prefix, ok := rangeFilePrefix(e.Name())
			if !ok || !e.Type().IsRegular() {
				continue
			}
			if err := im.readRangeFile(ctx, filepath.Join(dir, e.Name()), e.Name(), prefix); err != nil {
				return im.stats, err
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return im.stats, err
		}
	}
	return im.build(ctx)
}

// RangeDirSize returns the number and total size of the range files in
// dir, for progress reporting.
func RangeDirSize(dir string) (files int, bytes int64, err error) {
	d, err := os.Open(dir)
	if err != nil {
		return 0, 0, err
	}
	defer d.Close()
	for {
		ents, err := d.ReadDir(4096)
		for _, e := range ents {
			if _, ok := rangeFilePrefix(e.Name()); !ok || !e.Type().IsRegular() {
				continue
			}
			info, ierr := e.Info()
			if ierr != nil {
				return files, bytes, ierr
			}
			files++
			bytes += info.Size()
		}
		if errors.Is(err, io.EOF) {
			return files, bytes, nil
		}
		if err != nil {
			return files, bytes, err
		}
	}
}

// rangeFilePrefix parses "ABCDE" or "ABCDE.txt" (any case).
func rangeFilePrefix(name string) (uint64, bool) {
	if len(name) == 9 && strings.EqualFold(name[5:], ".txt") {
		name = name[:5]
	}
	if len(name) != 5 {
		return 0, false
	}
	p, err := strconv.ParseUint(name, 16, 32)
	return p, err == nil
}

// spillBits is log2 of the number of spill buckets; bucket = top bits of
// the key, so buckets in order are keys in order.
const spillBits = 8

type importer struct {
	opts   ImportOptions
	out    string
	spill  *os.File // one file; each bucket's records are a list of chunks in it
	off    int64    // spill file size
	chunks [1 << spillBits][]spillChunk
	bufs   [1 << spillBits][]byte
	counts [1 << spillBits]int64
	rd     *bufio.Reader
	radix  []uint32 // radix sort counters, reused
	stats  Stats
	lines  int64 // all lines, for progress
}

// spillChunk is one flushed bucket buffer in the spill file.
type spillChunk struct {
	off int64
	n   int32 // bytes
}

// spillBufSize is the per-bucket buffer: 256 of them take 32 MiB, and the
// spill file is read back in chunks of this size.
const spillBufSize = 128 << 10

func newImporter(out string, opts ImportOptions) (*importer, error) {
	if out == "" {
		return nil, errors.New("breached import: no output path")
	}
	switch opts.Format {
	case "":
		opts.Format = FormatFilter
	case FormatFilter, FormatTable:
	default:
		return nil, fmt.Errorf("breached import: unknown format %q (want %s or %s)", opts.Format, FormatFilter, FormatTable)
	}
	if opts.FingerprintBits == 0 {
		opts.FingerprintBits = DefaultFingerprintBits
	}
	if opts.FingerprintBits < MinFingerprintBits || opts.FingerprintBits > MaxFingerprintBits {
		return nil, fmt.Errorf("breached import: fingerprint bits %d outside %d..%d", opts.FingerprintBits, MinFingerprintBits, MaxFingerprintBits)
	}
	tmp := opts.TempDir
	if tmp == "" {
		tmp = filepath.Dir(out)
	}
	f, err := os.CreateTemp(tmp, ".breached-spill-*")
	if err != nil {
		return nil, fmt.Errorf("breached import: spill file: %w", err)
	}
	// Where the OS allows it, unlink at once: the data stays reachable
	// through f and vanishes with the process, even on SIGKILL.
	_ = os.Remove(f.Name())
	return &importer{opts: opts, out: out, spill: f, stats: Stats{Format: opts.Format}}, nil
}

func (im *importer) cleanup() {
	_ = im.spill.Close()
	_ = os.Remove(im.spill.Name())
}

func (im *importer) progress(p Progress) {
	if im.opts.Progress != nil {
		p.TotalBytes = im.opts.TotalBytes
		im.opts.Progress(p)
	}
}
