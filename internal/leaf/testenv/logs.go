package testenv

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// Logger returns a logger that writes to the test's log (t.Log): shown when
// the test fails or under -v, silent when it passes. Components built in a
// test take it instead of falling back to slog.Default(), whose lines on
// stderr would bury the output of a real failure. Lines written after the
// test's cleanups (by a goroutine the test did not stop) are dropped.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    testing.TB
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// Main runs a test binary's tests (call it from TestMain: os.Exit(testenv.Main(m)))
// with the process-wide loggers held in memory instead of written to
// stderr: slog's default logger (and with it the log package), which
// components built without a logger fall back to, and go-redis's own
// logger, which reports every failed dial. Tests that point clients at dead
// addresses on purpose check the errors they get; the library's lines would
// only bury the output of a real failure. When a test fails, the last
// 256 KiB of these lines are printed after the results; when all pass,
// nothing is.
func Main(m *testing.M) int {
	buf := &tailBuffer{max: 256 << 10}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, nil)))
	redis.SetLogger(redisLog{buf})
	code := m.Run()
	slog.SetDefault(prev)
	if code != 0 {
		if s := buf.String(); s != "" {
			fmt.Fprintf(os.Stderr, "testenv: process-wide log lines (slog.Default, go-redis) of this test binary:\n%s", s)
		}
	}
	return code
}

// tailBuffer keeps the last max bytes written to it (at least; it drops
// the oldest half when full).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
	cut bool
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if len(w.b) > w.max {
		w.b = append(w.b[:0], w.b[len(w.b)-w.max/2:]...)
		w.cut = true
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cut {
		return "[... earlier lines dropped]\n" + string(w.b)
	}
	return string(w.b)
}

// redisLog is go-redis's logger interface over a writer.
type redisLog struct{ w io.Writer }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	_, _ = fmt.Fprintf(l.w, "go-redis: "+strings.TrimSuffix(format, "\n")+"\n", v...)
}
