package spool

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
)

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
