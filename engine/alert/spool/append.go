package spool

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

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
