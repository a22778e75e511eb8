package testenv

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestEventually(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			time.Sleep(time.Millisecond)
			n.Add(1)
		}
	}()
	Eventually(t, "three ticks", func() bool { return n.Load() == 3 })
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 10}
	_, _ = b.Write([]byte("0123456789"))
	if got := b.String(); got != "0123456789" {
		t.Fatalf("got %q", got)
	}
	_, _ = b.Write([]byte("abcdef"))
	got := b.String()
	if !strings.HasPrefix(got, "[... earlier lines dropped]\n") || !strings.HasSuffix(got, "bcdef") || len(got) > 40 {
		t.Fatalf("got %q", got)
	}
}

// TestLoggerAfterCleanup: a line logged after the test's cleanups (by a
// goroutine the test did not stop) is dropped, not a panic.
func TestLoggerAfterCleanup(t *testing.T) {
	var log func()
	t.Run("inner", func(t *testing.T) {
		l := Logger(t)
		l.Info("during the test")
		log = func() { l.Info("after the test") }
	})
	log()
}
