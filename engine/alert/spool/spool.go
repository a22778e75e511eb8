package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// ErrFull is returned by Append when the records would take the spool past
// Options.MaxBytes. Nothing of the batch was written: the caller decides
// whether to drop, retry later or block.
var ErrFull = errors.New("spool full")

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("spool closed")

// ErrInvalidRecord is returned by Append for an empty record or one larger
// than MaxRecordBytes. Nothing of the batch was written.
var ErrInvalidRecord = errors.New("invalid record")

// ErrInvalidPosition is returned by Ack for a position that is not the end
// of a record returned by Read since the cursor last moved past it.
var ErrInvalidPosition = errors.New("invalid position")

// SyncPolicy says when appended records are fsynced. Whatever the policy,
// Append hands its records to the kernel before it returns, so a crash of
// the process alone loses nothing that Append accepted; the policy only
// matters when the machine itself goes down.
type SyncPolicy int

// Sync policies.
const (
	// SyncBatch fsyncs the active segment every Options.SyncInterval when
	// something was appended, at the end of every Append call that holds
	// Options.SyncEvery records or more (when set), at Sync and at Close
	// (the default). A power loss may lose what was appended during the last
	// SyncInterval.
	SyncBatch SyncPolicy = iota
	// SyncAlways fsyncs before every Append returns: once Append returned
	// nil, the records survive a power loss.
	SyncAlways
	// SyncNever leaves flushing to the OS except at Sync and Close (fast,
	// loses the page cache's content on power loss, not on a process crash).
	SyncNever
)

// String names the policy as in logs and flags: batch, always, never.
func (p SyncPolicy) String() string {
	switch p {
	case SyncBatch:
		return "batch"
	case SyncAlways:
		return "always"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// Defaults applied by Open to zero Options fields.
const (
	// DefaultSegmentBytes keeps a segment small enough to delete soon after
	// its records are delivered, large enough to roll rarely.
	DefaultSegmentBytes = 16 << 20
	// DefaultMaxBytes is about 1.7 million 600-byte alerts: hours of a
	// Kafka outage at a busy site.
	DefaultMaxBytes = 1 << 30
	// DefaultSyncInterval bounds what SyncBatch may lose to a power loss.
	DefaultSyncInterval = 100 * time.Millisecond
)

// Options configure a spool.
type Options struct {
	// Dir holds the segment files and the read cursor; created if missing.
	// One process at a time may open it: the spool takes no lock on it.
	Dir string
	// SegmentBytes is the size at which a new segment file starts
	// (default 16 MiB). A record larger than that gets a segment of its own.
	SegmentBytes int64
	// MaxBytes bounds the bytes on disk not yet acknowledged, across
	// segments, record headers included (default 1 GiB).
	MaxBytes int64
	// Sync is the fsync policy; SyncInterval its timer (default 100 ms).
	Sync         SyncPolicy
	SyncInterval time.Duration
	// SyncEvery makes an Append of at least that many records fsync before
	// it returns under SyncBatch, so a large burst is not left to the timer.
	// Zero (the default) leaves every batch to the timer.
	SyncEvery int
	// Logger receives the warnings about repaired or skipped data
	// (default slog.Default()).
	Logger *slog.Logger

	// noFsync turns every fsync into a no-op, so that the fuzz test runs
	// hundreds of inputs a second instead of waiting on the disk.
	noFsync bool
}

// Record is one stored record and where it is.
type Record struct {
	// Data is the payload; the caller owns it.
	Data []byte
	// Pos is what to pass to Ack once the record is delivered.
	Pos Position
}

// Position identifies the end of a record: acknowledging it acknowledges
// every record before it. Positions order by Segment, then Offset.
type Position struct {
	Segment uint64
	Offset  int64
}

func (p Position) less(q Position) bool {
	return p.Segment < q.Segment || (p.Segment == q.Segment && p.Offset < q.Offset)
}

// segment is one segment file as the spool knows it.
type segment struct {
	id   uint64
	path string
	// size is the end of the valid records: readers never look past it, so
	// a write in progress or a skipped corrupt tail is never read.
	size int64
	// count is the number of valid records in [segHeaderSize, size), or in
	// [cursor, size) when Open could only trust the data from the cursor on.
	count int
	// sealed segments take no more appends; every segment but the last is.
	sealed bool
}

// readCursor is the oldest unacknowledged record. Invariant: seg is the id
// of segs[0], so everything before it was acknowledged and deleted.
type readCursor struct {
	seg    uint64
	off    int64
	before int // records of segs[0].count that lie before off
}

func (c readCursor) pos() Position { return Position{Segment: c.seg, Offset: c.off} }

// Spool is safe for concurrent use by one writer side (Append, Sync) and one
// reader side (Read, Ack); each side may itself be called from several
// goroutines, which then take turns.
type Spool struct {
	dir  string
	opts Options
	log  *slog.Logger

	// Lock order: rmu, then wmu, then mu. rmu and wmu are held across the
	// file I/O of their side so that Append never waits for a reader's
	// fsync or read, and Read never waits for a writer's fsync.
	rmu sync.Mutex
	wmu sync.Mutex
	mu  sync.Mutex

	// Guarded by mu.
	closed bool
	segs   []*segment // oldest first; the last one is the active segment
	cur    readCursor
	count  int   // sum of segs[i].count
	bytes  int64 // sum of segs[i].size - segHeaderSize
	dirty  bool  // appended since the last fsync
	wf     *os.File

	// Writer side, guarded by wmu (wf is also replaced under mu so that the
	// sync timer can read it).
	active *segment
	bw     *bufio.Writer
	wsize  int64               // bytes written to the active segment
	whdr   [recHeaderSize]byte // scratch: a local would escape to the heap

	// Reader side, guarded by rmu.
	rf       *os.File
	rfID     uint64
	rbuf     *bufio.Reader
	lastFrom Position   // cursor the positions in lastRead start from
	lastRead []Position // ends of the records Read returned from lastFrom

	stop chan struct{}
	done chan struct{}
}

// Open opens or creates the spool in opts.Dir, verifying every unread
// record's checksum. A torn or corrupt tail of the last segment is
// truncated with a warning. A corrupt record anywhere else is logged as an
// error and skipped together with the rest of its segment: losing the
// service to a bad disk block would lose more alerts than the block held.
// Open fails only on I/O errors and invalid options.
func Open(opts Options) (*Spool, error) {
	if opts.Dir == "" {
		return nil, errors.New("spool: open: Options.Dir is empty")
	}
	if opts.SegmentBytes < 0 || opts.MaxBytes < 0 || opts.SyncInterval < 0 || opts.SyncEvery < 0 {
		return nil, fmt.Errorf("spool: open %s: negative size, interval or count in options", opts.Dir)
	}
	switch opts.Sync {
	case SyncBatch, SyncAlways, SyncNever:
	default:
		return nil, fmt.Errorf("spool: open %s: unknown sync policy %v", opts.Dir, opts.Sync)
	}
	if opts.SegmentBytes == 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.SyncInterval == 0 {
		opts.SyncInterval = DefaultSyncInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Spool{
		dir:  opts.Dir,
		opts: opts,
		log:  opts.Logger.With(slog.String("component", "spool"), slog.String("dir", opts.Dir)),
	}
	if err := s.load(); err != nil {
		if s.wf != nil {
			s.wf.Close()
		}
		return nil, err
	}
	s.bw = bufio.NewWriterSize(s.wf, 256<<10)
	if opts.Sync == SyncBatch {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.syncLoop(opts.SyncInterval)
	}
	return s, nil
}

// Append writes records in order, atomically as a batch with respect to
// ErrFull and ErrInvalidRecord. Records must be non-empty and at most
// MaxRecordBytes each; Append copies them, so the caller may reuse them.
//
// A crash or an I/O error during Append may leave a prefix of the batch
// stored (it is then delivered); the rest is not.
func (s *Spool) Append(records ...[]byte) error {
	var need int64
	for i, r := range records {
		if len(r) == 0 || len(r) > MaxRecordBytes {
			return fmt.Errorf("spool: append: record %d of %d bytes (want 1..%d): %w",
				i, len(r), MaxRecordBytes, ErrInvalidRecord)
		}
		need += recHeaderSize + int64(len(r))
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	pending := s.pendingBytesLocked()
	mustRoll := s.active.sealed
	s.mu.Unlock()
	if len(records) == 0 {
		return nil
	}
	if need > s.opts.MaxBytes {
		return fmt.Errorf("spool: append: batch of %d bytes exceeds MaxBytes %d: %w", need, s.opts.MaxBytes, ErrFull)
	}
	if pending+need > s.opts.MaxBytes {
		return ErrFull
	}

	hdr := s.whdr[:]
	for i := 0; i < len(records); {
		next := recHeaderSize + int64(len(records[i]))
		if mustRoll || (s.wsize > segHeaderSize && s.wsize+next > s.opts.SegmentBytes) {
			if err := s.roll(); err != nil {
				return err
			}
			mustRoll = false
		}
		// Write the records that fit in this segment (at least one) with a
		// single flush, so a usual batch costs one write system call.
		start, size, j := s.wsize, s.wsize, i
		var err error
		for ; j < len(records); j++ {
			r := records[j]
			n := recHeaderSize + int64(len(r))
			if j > i && size+n > s.opts.SegmentBytes {
				break
			}
			putRecHeader(hdr, r)
			if _, err = s.bw.Write(hdr); err != nil {
				break
			}
			if _, err = s.bw.Write(r); err != nil {
				break
			}
			size += n
		}
		if err == nil {
			err = s.bw.Flush()
		}
		if err != nil {
			return s.failedWrite(start, err)
		}
		s.wsize = size
		s.mu.Lock()
		if s.active.sealed {
			// Read found a corrupt record in this segment while we wrote:
			// everything after it, these records included, is skipped.
			s.mu.Unlock()
			return fmt.Errorf("spool: append to %s: segment sealed after a corrupt record was found; %d records not stored",
				s.active.path, len(records)-i)
		}
		s.active.size = size
		s.active.count += j - i
		s.count += j - i
		s.bytes += size - start
		s.dirty = true
		s.mu.Unlock()
		i = j
	}
	if s.opts.Sync == SyncAlways || (s.opts.Sync == SyncBatch && s.opts.SyncEvery > 0 && len(records) >= s.opts.SyncEvery) {
		return s.syncActive()
	}
	return nil
}

// failedWrite undoes a partial write so the segment does not carry a torn
// record in its middle once later appends follow it.
func (s *Spool) failedWrite(start int64, werr error) error {
	s.bw.Reset(s.wf)
	if terr := s.wf.Truncate(start); terr != nil {
		// The tail is in an unknown state: stop appending to this segment.
		// Readers never look past its known size, and Open will report and
		// skip the leftover bytes.
		s.mu.Lock()
		s.active.sealed = true
		s.mu.Unlock()
		s.log.Error("spool: cannot truncate segment after a failed write; starting a new segment",
			slog.String("file", s.active.path), slog.Int64("offset", start), slog.Any("error", terr))
	}
	return fmt.Errorf("spool: append to %s: %w", s.active.path, werr)
}

// roll seals the active segment and starts the next one. The old segment
// is fsynced first (unless SyncNever), so that after a power loss only the
// last segment can have a torn tail.
func (s *Spool) roll() error {
	old := s.active
	id := old.id + 1
	path := filepath.Join(s.dir, segName(id))
	f, err := s.createSegment(path, s.opts.Sync != SyncNever)
	if err != nil {
		return fmt.Errorf("spool: roll to %s: %w", path, err)
	}
	if s.opts.Sync != SyncNever {
		if err := s.fsync(s.wf); err != nil {
			f.Close()
			os.Remove(path)
			return fmt.Errorf("spool: roll: sync %s: %w", old.path, err)
		}
	}
	oldf := s.wf
	seg := &segment{id: id, path: path, size: segHeaderSize}
	s.mu.Lock()
	old.sealed = true
	s.segs = append(s.segs, seg)
	s.wf = f
	s.mu.Unlock()
	s.active = seg
	s.wsize = segHeaderSize
	s.bw.Reset(f)
	if err := oldf.Close(); err != nil {
		s.log.Warn("spool: close sealed segment", slog.String("file", old.path), slog.Any("error", err))
	}
	return nil
}

// createSegment creates a new segment file with its header, making it and
// its directory entry durable when durable is set.
func (s *Spool) createSegment(path string, durable bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	h := segHeader()
	if _, err := f.Write(h[:]); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if durable {
		if err := s.fsync(f); err != nil {
			f.Close()
			os.Remove(path)
			return nil, err
		}
		if err := s.syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			os.Remove(path)
			return nil, err
		}
	}
	return f, nil
}

// Read returns up to max of the oldest unacknowledged records without
// consuming them. Repeated calls without Ack return the same records
// (at-least-once). It sees every record whose Append has returned.
//
// A record found corrupt here (the disk changed under the spool) is handled
// as Open would: logged as an error and skipped with the rest of its
// segment.
func (s *Spool) Read(max int) ([]Record, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	cur := s.cur
	snap := make([]segment, len(s.segs))
	for i, sg := range s.segs {
		snap[i] = *sg
	}
	s.mu.Unlock()
	if max <= 0 {
		return nil, nil
	}

	var recs []Record
	skipped := false
	for i := range snap {
		if len(recs) >= max {
			break
		}
		sg := &snap[i]
		start, before := int64(segHeaderSize), 0
		if i == 0 {
			start, before = cur.off, cur.before
		}
		if start >= sg.size {
			continue
		}
		f, err := s.readerFile(sg)
		if err != nil {
			return recs, fmt.Errorf("spool: read %s: %w", sg.path, err)
		}
		var bad *badRecord
		recs, bad, err = s.readSegment(f, sg, start, max, recs)
		if err != nil {
			return recs, fmt.Errorf("spool: read %s: %w", sg.path, err)
		}
		if bad != nil {
			n := 0
			for _, r := range recs {
				if r.Pos.Segment == sg.id {
					n++
				}
			}
			s.skipCorruptTail(sg.id, bad, before+n)
			skipped = true
		}
	}

	pos := make([]Position, len(recs))
	for i, r := range recs {
		pos[i] = r.Pos
	}
	// A shorter read from the same cursor returns a prefix of the longer
	// one; keep the longer so every position handed out can be acked.
	if skipped || s.lastFrom != cur.pos() || len(pos) > len(s.lastRead) {
		s.lastFrom, s.lastRead = cur.pos(), pos
	}
	return recs, nil
}

// readSegment appends to recs the records of sg from start until max
// records are held, the segment's known end, or a bad record.
func (s *Spool) readSegment(f *os.File, sg *segment, start int64, max int, recs []Record) ([]Record, *badRecord, error) {
	if s.rbuf == nil {
		s.rbuf = bufio.NewReaderSize(nil, 256<<10)
	}
	br := s.rbuf
	br.Reset(io.NewSectionReader(f, start, sg.size-start))
	var hdr [recHeaderSize]byte
	off := start
	for len(recs) < max && off < sg.size {
		if sg.size-off < recHeaderSize {
			return recs, &badRecord{off: off, kind: badPartialHeader}, nil
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return recs, nil, fmt.Errorf("offset %d: %w", off, err)
		}
		n := int64(binary.LittleEndian.Uint32(hdr[0:4]))
		if n == 0 || n > MaxRecordBytes {
			return recs, &badRecord{off: off, kind: badLength}, nil
		}
		end := off + recHeaderSize + n
		if end > sg.size {
			return recs, &badRecord{off: off, kind: badPartialPayload}, nil
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			return recs, nil, fmt.Errorf("offset %d: %w", off+recHeaderSize, err)
		}
		if crc32.Checksum(data, castagnoli) != binary.LittleEndian.Uint32(hdr[4:8]) {
			return recs, &badRecord{off: off, kind: badCRC, recEnd: end}, nil
		}
		off = end
		recs = append(recs, Record{Data: data, Pos: Position{Segment: sg.id, Offset: end}})
	}
	return recs, nil, nil
}

// fsync makes f's content durable.
func (s *Spool) fsync(f *os.File) error {
	if s.opts.noFsync {
		return nil
	}
	return f.Sync()
}

// readerFile returns the reader's own handle on sg, reusing it while the
// reader stays in the same segment.
func (s *Spool) readerFile(sg *segment) (*os.File, error) {
	if s.rf != nil && s.rfID == sg.id {
		return s.rf, nil
	}
	s.closeReaderFile()
	f, err := os.Open(sg.path)
	if err != nil {
		return nil, err
	}
	s.rf, s.rfID = f, sg.id
	return f, nil
}

func (s *Spool) closeReaderFile() {
	if s.rf != nil {
		s.rf.Close()
		s.rf, s.rfID = nil, 0
	}
}

// skipCorruptTail applies the corruption policy to a record Read found bad:
// the segment ends just before it. recsBefore is the number of the
// segment's counted records before the bad one.
func (s *Spool) skipCorruptTail(id uint64, bad *badRecord, recsBefore int) {
	s.mu.Lock()
	var sg *segment
	for _, x := range s.segs {
		if x.id == id {
			sg = x
			break
		}
	}
	if sg == nil || sg.size <= bad.off {
		s.mu.Unlock()
		return
	}
	dropped, lost := sg.size-bad.off, max(sg.count-recsBefore, 0)
	s.bytes -= dropped
	s.count -= lost
	sg.size, sg.count = bad.off, min(recsBefore, sg.count)
	// An active segment gets no more appends after a hole: the writer
	// starts a new segment on its next Append.
	sg.sealed = true
	s.mu.Unlock()
	s.log.Error("spool: CORRUPT record found while reading; skipping it and the rest of its segment",
		slog.String("file", sg.path), slog.Int64("offset", bad.off), slog.String("reason", bad.kind.String()),
		slog.Int64("bytes_skipped", dropped), slog.Int("records_lost_at_least", max(lost, 1)))
}

// Ack marks every record up to and including pos as delivered, persists
// the cursor and removes fully delivered segments. pos must be the Pos of a
// record returned by Read; acknowledging an already acknowledged position
// does nothing.
func (s *Spool) Ack(pos Position) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	cur := s.cur
	s.mu.Unlock()
	if !cur.pos().less(pos) {
		return nil
	}
	idx := -1
	if s.lastFrom == cur.pos() {
		i := sort.Search(len(s.lastRead), func(i int) bool { return !s.lastRead[i].less(pos) })
		if i < len(s.lastRead) && s.lastRead[i] == pos {
			idx = i
		}
	}
	if idx < 0 {
		return fmt.Errorf("spool: ack %d:%d: not the end of a record returned by Read: %w",
			pos.Segment, pos.Offset, ErrInvalidPosition)
	}
	next := readCursor{seg: pos.Segment, off: pos.Offset}
	if pos.Segment == cur.seg {
		next.before = cur.before
	}
	for _, p := range s.lastRead[:idx+1] {
		if p.Segment == pos.Segment {
			next.before++
		}
	}
	if err := s.writeFileAtomic(s.dir, cursorName, cursorTmpName, encodeCursor(pos)); err != nil {
		return fmt.Errorf("spool: ack: write cursor in %s: %w", s.dir, err)
	}

	s.mu.Lock()
	var drop []*segment
	for len(s.segs) > 1 && s.segs[0].id < next.seg {
		drop = append(drop, s.segs[0])
		s.dropFirstLocked()
	}
	s.cur = next
	drop = append(drop, s.dropAckedLocked()...)
	now := s.cur.pos()
	s.mu.Unlock()

	s.removeSegments(drop)
	s.lastRead = s.lastRead[idx+1:]
	s.lastFrom = now
	return nil
}

// dropFirstLocked forgets segs[0] and moves the cursor to the next one.
func (s *Spool) dropFirstLocked() {
	sg := s.segs[0]
	s.count -= sg.count
	s.bytes -= sg.size - segHeaderSize
	s.segs[0] = nil
	s.segs = s.segs[1:]
	s.cur = readCursor{seg: s.segs[0].id, off: segHeaderSize}
}

// dropAckedLocked forgets the leading sealed segments the cursor has
// reached the end of and returns them for removal.
func (s *Spool) dropAckedLocked() []*segment {
	var drop []*segment
	for len(s.segs) > 1 && s.segs[0].sealed && s.cur.off >= s.segs[0].size {
		drop = append(drop, s.segs[0])
		s.dropFirstLocked()
	}
	return drop
}

// removeSegments deletes delivered segment files. A failure only costs
// disk space until the next Open, which deletes segments behind the
// persisted cursor.
func (s *Spool) removeSegments(drop []*segment) {
	for _, sg := range drop {
		if s.rfID == sg.id {
			s.closeReaderFile()
		}
		if err := os.Remove(sg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("spool: remove delivered segment", slog.String("file", sg.path), slog.Any("error", err))
		}
	}
}

func (s *Spool) pendingBytesLocked() int64 {
	return s.bytes - (s.cur.off - segHeaderSize)
}

// Len returns the number of unacknowledged records. After Close it keeps
// reporting the state at Close.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count - s.cur.before
}

// Bytes returns the on-disk size of unacknowledged records, headers
// included: the quantity Options.MaxBytes bounds.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingBytesLocked()
}

// Sync forces an fsync of the active segment, whatever the policy.
func (s *Spool) Sync() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return s.syncActive()
}

// syncActive fsyncs the active segment; the caller holds wmu.
func (s *Spool) syncActive() error {
	s.mu.Lock()
	s.dirty = false
	s.mu.Unlock()
	if err := s.fsync(s.wf); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return fmt.Errorf("spool: sync %s: %w", s.active.path, err)
	}
	return nil
}

// syncLoop is the SyncBatch timer. It fsyncs without holding wmu, so
// appends go on during the fsync.
func (s *Spool) syncLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			f, dirty := s.wf, s.dirty
			s.dirty = false
			s.mu.Unlock()
			if !dirty {
				continue
			}
			// A roll may close f meanwhile; it fsyncs f before, so
			// os.ErrClosed loses nothing.
			if err := s.fsync(f); err != nil && !errors.Is(err, os.ErrClosed) {
				s.mu.Lock()
				s.dirty = true
				s.mu.Unlock()
				s.log.Error("spool: periodic fsync failed", slog.String("file", f.Name()), slog.Any("error", err))
			}
		}
	}
}

// Close flushes and syncs the active segment, stops the sync timer and
// releases the files. It is idempotent; every other method returns
// ErrClosed afterwards.
func (s *Spool) Close() error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	var errs []error
	if err := s.bw.Flush(); err != nil {
		errs = append(errs, err)
	}
	if err := s.fsync(s.wf); err != nil {
		errs = append(errs, err)
	}
	if err := s.wf.Close(); err != nil {
		errs = append(errs, err)
	}
	s.closeReaderFile()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("spool: close %s: %w", s.active.path, err)
	}
	return nil
}
