package spool

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
