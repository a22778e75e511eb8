package alert

import (
	"bytes"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/internal/leaf/atomicfile"
	"github.com/riskauth/riskauth/internal/leaf/privfile"
)

// Erasure (GDPR Art. 17): Forget ends a user on the sink's topics, after
// everything queued before it. In Kafka mode it produces a tombstone on
// each topic (a record keyed by the user id with a null value): a
// compacted topic then drops every record under that key, and consumers
// that keep state by key delete theirs. In the embedded mode the JSONL
// files are the topics, kept in the data dir: every line naming the user
// (its id or any of needles, the address) is removed from them.

// forget is a queued Forget.
type forget struct {
	key     string
	needles [][]byte
}

// Forget queues the end of the user key (the id the messages are keyed
// by) on every topic; needles are other strings naming the user in the
// embedded mode's files (the address). Like Emit, it never waits.
func (s *Sink) Forget(key string, needles ...string) {
	if key == "" {
		return
	}
	f := &forget{key: key, needles: [][]byte{[]byte(key)}}
	for _, n := range needles {
		if n != "" {
			f.needles = append(f.needles, []byte(n))
		}
	}
	s.enqueue(item{forget: f})
}

// forgetOn ends f's user on dst: a tombstone for a Kafka lane, the scrub
// of a file.
func (s *Sink) forgetOn(dst destination, f *forget, reason string) {
	switch d := dst.(type) {
	case *lane:
		d.route([]message{{key: []byte(f.key), id: newMessageID(), time: time.Now()}}, reason)
	case *jsonlFile:
		n, err := d.scrub(f.needles)
		if err != nil {
			s.log.Error("alert: erasure: cannot scrub the file; the user's lines stay", "file", d.path, "err", err)
			return
		}
		s.m.erased.Add(float64(n))
	}
}

// scrub rewrites the file without the lines containing any of needles,
// atomically (a crash leaves the old file or the new one), and reopens
// it for appending. It reports how many lines went.
func (j *jsonlFile) scrub(needles [][]byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	removed, err := atomicfile.DropLines(j.path, func(l []byte) bool { return names(l, needles) })
	if err != nil {
		return 0, err
	}
	f, err := privfile.OpenAppend(j.path)
	if err != nil {
		return removed, fmt.Errorf("reopen: %w", err)
	}
	_ = j.f.Close() // the old, unlinked file
	j.f = f
	return removed, nil
}

func names(line []byte, needles [][]byte) bool {
	for _, n := range needles {
		if bytes.Contains(line, n) {
			return true
		}
	}
	return false
}
