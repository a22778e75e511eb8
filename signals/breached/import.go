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
	"path/filepath"
	"slices"
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

func (im *importer) readRangeFile(ctx context.Context, path, name string, prefix uint64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	im.stats.Files++
	return im.readStream(ctx, f, name, 35, prefix)
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

type spillRec struct {
	key   uint64
	count uint32
}

func (im *importer) build(ctx context.Context) (Stats, error) {
	im.progress(Progress{Phase: PhaseRead, Bytes: im.stats.Bytes, Lines: im.lines})
	var total int64
	for i := range im.counts {
		total += im.counts[i]
	}
	out, err := createAtomic(im.out)
	if err != nil {
		return im.stats, err
	}
	committed := false
	defer func() {
		if !committed {
			out.abort()
		}
	}()

	var (
		hdr       fileHeader
		tw        *tableWriter
		fw        *filterWriter
		shardBits uint
		keys      []uint64
		recs      []spillRec
		raw       []byte
	)
	if im.opts.Format == FormatTable {
		tw = newTableWriter(out)
	} else {
		for shardBits < maxShardBits && total>>shardBits > shardTarget {
			shardBits++
		}
		fw = newFilterWriter(out, uint(im.opts.FingerprintBits), shardBits)
		im.stats.ShardBits = int(shardBits)
	}
	perShard := 1 << (spillBits - shardBits)
	for b := range im.counts {
		if err := ctx.Err(); err != nil {
			return im.stats, err
		}
		raw, recs, err = im.readBucket(b, raw, recs)
		if err != nil {
			return im.stats, err
		}
		if tw != nil {
			for _, r := range recs {
				if err := tw.add(r.key, r.count); err != nil {
					return im.stats, err
				}
			}
		} else {
			for i, r := range recs {
				if i > 0 && r.key == recs[i-1].key {
					im.stats.Duplicates++
					continue
				}
				keys = append(keys, r.key)
			}
			if (b+1)%perShard == 0 {
				if err := fw.addShard(keys); err != nil {
					return im.stats, err
				}
				keys = keys[:0]
			}
		}
		im.progress(Progress{Phase: PhaseBuild, Bytes: im.stats.Bytes, Lines: im.lines, Done: b + 1, Total: len(im.counts)})
	}
	if tw != nil {
		hdr, err = tw.finish(im.opts.MinCount)
		im.stats.Duplicates = tw.dups
	} else {
		hdr, err = fw.finish(im.opts.MinCount, shardBits)
	}
	if err != nil {
		return im.stats, err
	}
	if err := ctx.Err(); err != nil {
		return im.stats, err
	}
	size, err := out.commit(&hdr)
	if err != nil {
		return im.stats, err
	}
	committed = true
	im.stats.Entries = hdr.entries
	im.stats.OutputBytes = size
	return im.stats, nil
}

// readBucket loads one bucket (spilled chunks plus the unflushed buffer)
// into recs, sorted by key, reusing the buffers.
func (im *importer) readBucket(b int, raw []byte, recs []spillRec) ([]byte, []spillRec, error) {
	n := int(im.counts[b])
	raw = slices.Grow(raw[:0], n*12)
	for _, c := range im.chunks[b] {
		start := len(raw)
		raw = raw[:start+int(c.n)]
		if _, err := im.spill.ReadAt(raw[start:], c.off); err != nil {
			return raw, recs, fmt.Errorf("read spill file: %w", err)
		}
	}
	raw = append(raw, im.bufs[b]...)
	im.bufs[b], im.chunks[b] = nil, nil
	if len(raw) != n*12 {
		return raw, recs, fmt.Errorf("spill bucket %d: %d bytes, want %d", b, len(raw), n*12)
	}
	recs = slices.Grow(recs[:0], n)[:n]
	radixSort(raw, recs, &im.radix)
	return raw, recs, nil
}

// radixSort decodes the 12-byte spill records in raw into recs sorted by
// key. The keys of one bucket share their top spillBits bits and are
// uniformly distributed below them, so one counting-sort pass on the next
// r bits (about n/4 groups) leaves groups of a few records that insertion
// sort finishes: linear time, no comparisons to speak of.
func radixSort(raw []byte, recs []spillRec, counts *[]uint32) {
	n := len(recs)
	r := 1
	for r < 20 && 1<<r < n/4 {
		r++
	}
	shift := uint(64 - spillBits - r)
	mask := uint64(1)<<r - 1
	cnt := slices.Grow((*counts)[:0], 1<<r+1)[:1<<r+1]
	clear(cnt)
	for i := 0; i < n; i++ {
		k := binary.LittleEndian.Uint64(raw[i*12:])
		cnt[(k>>shift&mask)+1]++
	}
	for i := 1; i < len(cnt); i++ {
		cnt[i] += cnt[i-1]
	}
	pos := cnt[:1<<r] // pos[g] = next free slot of group g (cnt[g+1] stays the group end)
	for i := 0; i < n; i++ {
		k := binary.LittleEndian.Uint64(raw[i*12:])
		g := k >> shift & mask
		recs[pos[g]] = spillRec{key: k, count: binary.LittleEndian.Uint32(raw[i*12+8:])}
		pos[g]++
	}
	// After the scatter pos[g] is the end of group g, i.e. the start of g+1.
	start := uint32(0)
	for g := range pos {
		end := pos[g]
		insertionSort(recs[start:end])
		start = end
	}
	*counts = cnt
}

func insertionSort(a []spillRec) {
	for i := 1; i < len(a); i++ {
		x := a[i]
		j := i
		for j > 0 && a[j-1].key > x.key {
			a[j] = a[j-1]
			j--
		}
		a[j] = x
	}
}
