package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// fsync makes f's content durable.
func (s *Spool) fsync(f *os.File) error {
	if s.opts.noFsync {
		return nil
	}
	return f.Sync()
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
