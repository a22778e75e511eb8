package alert

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/riskauth/riskauth/internal/leaf/privfile"
)

// jsonlFile is the embedded mode's destination: one message per line,
// appended. Nothing is spooled: a local file is as available as a spool.
type jsonlFile struct {
	path string
	ts   *topicSeries
	log  *slog.Logger

	mu  sync.Mutex
	f   *os.File
	buf []byte
	// torn is set after a short write: the next batch starts on a new
	// line, so one bad line never swallows a good one.
	torn      bool
	lastError time.Time
	drops     dropLog
}

func openJSONL(path string, ts *topicSeries, log *slog.Logger) (*jsonlFile, error) {
	// 0600: the trail names users, addresses and devices.
	f, err := privfile.OpenAppend(path)
	if err != nil {
		return nil, fmt.Errorf("alert: open %s: %w", path, err)
	}
	return &jsonlFile{path: path, ts: ts, log: log.With("file", path), f: f}, nil
}

// route writes the batch with one write call: with O_APPEND, lines from
// one batch are never interleaved with another writer's.
func (j *jsonlFile) route(msgs []message, _ string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	b := j.buf[:0]
	wasTorn := j.torn
	if wasTorn {
		b = append(b, '\n')
	}
	for i := range msgs {
		b = append(b, msgs[i].value...)
		b = append(b, '\n')
	}
	release(msgs) // copied into b
	t0 := time.Now()
	n, err := j.f.Write(b)
	j.ts.m.produce.Observe(time.Since(t0).Seconds())
	if cap(b) <= 1<<20 {
		j.buf = b
	}
	if err == nil {
		j.torn = false
		j.ts.produced.Add(float64(len(msgs)))
		return
	}
	// Disk full or failing: count whole lines that made it, drop the rest.
	if n > 0 {
		j.torn = b[n-1] != '\n'
	}
	written := bytes.Count(b[:n], newline)
	if wasTorn && n > 0 {
		written-- // the newline that ends the torn line is no message's
	}
	j.ts.produced.Add(float64(written))
	j.ts.dropped(reasonFileError, len(msgs)-written)
	j.lastError = time.Now()
	j.drops.add(j.log, reasonFileError, len(msgs)-written, 0, err)
}

var newline = []byte{'\n'}

func (j *jsonlFile) series() *topicSeries { return j.ts }

func (j *jsonlFile) status() TopicStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	return TopicStatus{Topic: j.ts.topic, Mode: "file", LastError: j.lastError}
}

func (j *jsonlFile) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.f.Sync(); err != nil {
		j.f.Close()
		return fmt.Errorf("alert: sync %s: %w", j.path, err)
	}
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("alert: close %s: %w", j.path, err)
	}
	return nil
}
