package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/riskauth/riskauth/internal/leaf/privfile"
)

// corruptSuffix marks a file that is not a readable segment. It is set
// aside rather than deleted so that an operator can look at it.
const corruptSuffix = ".corrupt"

// loadedSegment is what Open learnt from one segment file.
type loadedSegment struct {
	seg *segment // nil when the file was set aside
	// truncateTo >= 0 asks to cut a torn tail of the last segment there.
	truncateTo int64
	// rewrite asks to recreate the last segment, whose header was torn.
	rewrite bool
	// curOff >= 0 places the read cursor in this segment, curBefore records
	// of seg.count before it.
	curOff    int64
	curBefore int
}

// load rebuilds the spool's state from Dir: the cursor, every segment's
// valid extent and record count, and the active segment, repairing or
// skipping what a crash or a bad disk left.
func (s *Spool) load() error {
	dir := s.dir
	if err := privfile.MkdirAll(dir); err != nil {
		return fmt.Errorf("spool: open %s: %w", dir, err)
	}
	if err := os.Remove(filepath.Join(dir, cursorTmpName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: open %s: remove stale cursor temp file: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool: open %s: %w", dir, err)
	}
	var ids []uint64
	var maxID uint64
	for _, e := range entries {
		name := e.Name()
		id, ok := parseSegName(strings.TrimSuffix(name, corruptSuffix))
		if !ok {
			continue
		}
		maxID = max(maxID, id)
		if e.Type().IsRegular() && !strings.HasSuffix(name, corruptSuffix) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)

	cursorPath := filepath.Join(dir, cursorName)
	var persisted Position
	haveCursor := false
	switch b, err := os.ReadFile(cursorPath); {
	case errors.Is(err, os.ErrNotExist):
		if len(ids) > 0 {
			s.log.Warn("spool: no cursor file; redelivering from the oldest segment",
				slog.String("file", cursorPath))
		}
	case err != nil:
		s.log.Warn("spool: cannot read cursor file; redelivering from the oldest segment",
			slog.String("file", cursorPath), slog.Any("error", err))
	default:
		if persisted, err = decodeCursor(b); err != nil {
			s.log.Warn("spool: corrupt cursor file; redelivering from the oldest segment",
				slog.String("file", cursorPath), slog.Int("size", len(b)))
		} else {
			haveCursor = true
			// A new segment must sort after the cursor, or the next Open
			// would take its records for acknowledged ones.
			maxID = max(maxID, persisted.Segment)
		}
	}

	// Segments behind the cursor were delivered; a crash between writing
	// the cursor and removing them left them here.
	for len(ids) > 0 && haveCursor && ids[0] < persisted.Segment {
		path := filepath.Join(dir, segName(ids[0]))
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("spool: open %s: remove delivered segment: %w", dir, err)
		}
		s.log.Info("spool: removed delivered segment", slog.String("file", path))
		ids = ids[1:]
	}

	last := loadedSegment{truncateTo: -1, curOff: -1}
	cur := readCursor{}
	for i, id := range ids {
		mark := int64(-1)
		if haveCursor && id == persisted.Segment {
			mark = persisted.Offset
		}
		l, err := s.loadSegment(id, i == len(ids)-1, mark)
		if err != nil {
			return err
		}
		if l.seg == nil {
			continue
		}
		s.segs = append(s.segs, l.seg)
		s.count += l.seg.count
		s.bytes += l.seg.size - segHeaderSize
		if cur.seg == 0 && (!haveCursor || id >= persisted.Segment) {
			cur = readCursor{seg: id, off: segHeaderSize}
			if id == persisted.Segment && l.curOff >= 0 {
				cur.off, cur.before = l.curOff, l.curBefore
			}
		}
		if i == len(ids)-1 {
			last = l
		}
	}

	if n := len(s.segs); n > 0 && !s.segs[n-1].sealed {
		if err := s.reopenActive(s.segs[n-1], last); err != nil {
			return err
		}
	} else {
		id := maxID + 1
		path := filepath.Join(dir, segName(id))
		f, err := s.createSegment(path, true)
		if err != nil {
			return fmt.Errorf("spool: open %s: create segment: %w", dir, err)
		}
		seg := &segment{id: id, path: path, size: segHeaderSize}
		s.segs = append(s.segs, seg)
		s.active, s.wf, s.wsize = seg, f, segHeaderSize
	}
	if cur.seg == 0 {
		cur = readCursor{seg: s.active.id, off: segHeaderSize}
	}
	// Segments before the cursor's were set aside or never existed; the
	// invariant wants the cursor in segs[0].
	for len(s.segs) > 1 && s.segs[0].id != cur.seg {
		s.count -= s.segs[0].count
		s.bytes -= s.segs[0].size - segHeaderSize
		s.segs = s.segs[1:]
	}
	s.cur = cur
	for _, sg := range s.dropAckedLocked() {
		if err := os.Remove(sg.path); err != nil {
			return fmt.Errorf("spool: open %s: remove delivered segment: %w", dir, err)
		}
	}
	return nil
}

// reopenActive opens the last segment for appending after cutting what
// loadSegment found torn.
func (s *Spool) reopenActive(seg *segment, l loadedSegment) error {
	f, err := os.OpenFile(seg.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: open %s: %w", seg.path, err)
	}
	s.wf = f // closed by Open on error
	switch {
	case l.rewrite:
		h := segHeader()
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("spool: open %s: truncate torn header: %w", seg.path, err)
		}
		if _, err := f.Write(h[:]); err != nil {
			return fmt.Errorf("spool: open %s: rewrite header: %w", seg.path, err)
		}
	case l.truncateTo >= 0:
		if err := f.Truncate(l.truncateTo); err != nil {
			return fmt.Errorf("spool: open %s: truncate torn tail: %w", seg.path, err)
		}
	}
	if l.rewrite || l.truncateTo >= 0 {
		if err := s.fsync(f); err != nil {
			return fmt.Errorf("spool: open %s: %w", seg.path, err)
		}
	}
	s.active, s.wsize = seg, seg.size
	return nil
}

// loadSegment verifies one segment. mark is the persisted cursor offset
// when the cursor is in this segment, else -1.
func (s *Spool) loadSegment(id uint64, last bool, mark int64) (loadedSegment, error) {
	path := filepath.Join(s.dir, segName(id))
	l := loadedSegment{truncateTo: -1, curOff: -1}
	f, err := os.Open(path)
	if err != nil {
		return l, fmt.Errorf("spool: open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return l, fmt.Errorf("spool: open %s: %w", path, err)
	}
	size := fi.Size()

	want := segHeader()
	got := make([]byte, min(size, segHeaderSize))
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, int64(len(got))), got); err != nil {
		return l, fmt.Errorf("spool: open %s: %w", path, err)
	}
	if !bytes.Equal(got, want[:]) {
		zero, _ := allZero(f, 0, int64(len(got)))
		if last && size < segHeaderSize && (bytes.HasPrefix(want[:], got) || zero) {
			s.log.Warn("spool: torn segment header; rewriting it",
				slog.String("file", path), slog.Int64("offset", 0), slog.Int64("bytes_dropped", size))
			l.rewrite = true
			l.seg = &segment{id: id, path: path, size: segHeaderSize}
			return l, nil
		}
		aside := path + corruptSuffix
		if err := os.Rename(path, aside); err != nil {
			return l, fmt.Errorf("spool: open %s: set aside unreadable segment: %w", path, err)
		}
		s.log.Error("spool: CORRUPT segment: not a spool segment or an unknown version; its records are skipped",
			slog.String("file", path), slog.String("moved_to", aside), slog.Int64("bytes_skipped", size))
		return l, nil
	}

	res, err := scanRecords(f, segHeaderSize, size, mark)
	if err != nil {
		return l, fmt.Errorf("spool: open %s: %w", path, err)
	}
	if mark >= 0 {
		switch {
		case res.bad != nil && mark > res.bad.off && mark <= size:
			// The bad record was acknowledged already. The cursor is a
			// record boundary we wrote ourselves: trust the data from it.
			s.log.Warn("spool: corrupt record in the acknowledged part of a segment; resuming at the cursor",
				slog.String("file", path), slog.Int64("offset", res.bad.off),
				slog.String("reason", res.bad.kind.String()), slog.Int64("cursor", mark))
			if res, err = scanRecords(f, mark, size, mark); err != nil {
				return l, fmt.Errorf("spool: open %s: %w", path, err)
			}
			l.curOff, l.curBefore = mark, 0
		case mark > res.end:
			s.log.Warn("spool: cursor beyond the valid records of its segment (acknowledged records lost to a crash?)",
				slog.String("file", path), slog.Int64("cursor", mark), slog.Int64("valid_end", res.end))
			l.curOff, l.curBefore = res.end, res.count
		case mark != res.markBound:
			s.log.Warn("spool: cursor not at a record boundary; redelivering from the previous one",
				slog.String("file", path), slog.Int64("cursor", mark), slog.Int64("boundary", res.markBound))
			l.curOff, l.curBefore = res.markBound, res.markCount
		default:
			l.curOff, l.curBefore = mark, res.markCount
		}
	}

	seg := &segment{id: id, path: path, size: res.end, count: res.count, sealed: !last}
	l.seg = seg
	if b := res.bad; b != nil {
		torn := false
		if last {
			if torn, err = isTornTail(f, b, size); err != nil {
				return l, fmt.Errorf("spool: open %s: %w", path, err)
			}
		}
		attrs := []any{
			slog.String("file", path), slog.Int64("offset", b.off),
			slog.String("reason", b.kind.String()), slog.Int64("bytes_dropped", size-b.off),
		}
		if torn && last {
			s.log.Warn("spool: torn tail of the last segment truncated (interrupted write)", attrs...)
			l.truncateTo = b.off
		} else {
			// Sealed segments were fsynced before the next one started
			// (unless SyncNever), so even a torn end there is lost data.
			s.log.Error("spool: CORRUPT record; skipping it and the rest of its segment", attrs...)
			seg.sealed = true
		}
	}
	return l, nil
}
