package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
)

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
