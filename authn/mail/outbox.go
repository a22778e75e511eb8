package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/internal/leaf/privfile"
)

// OutboxFile is the name of the outbox inside the data directory.
const OutboxFile = "outbox.jsonl"

// OutboxRecord is one line of the outbox file.
type OutboxRecord struct {
	// Time is when the message was queued, in UTC.
	Time time.Time `json:"time"`
	// ID is a random 128-bit hex id, unique per message, so whatever
	// relays the outbox can de-duplicate.
	ID string `json:"id"`
	// To is Message.To.
	To string `json:"to"`
	// Subject is Message.Subject.
	Subject string `json:"subject"`
	// Kind is Message.Kind.
	Kind Kind `json:"kind"`
	// Tag is Message.Tag, omitted when empty.
	Tag string `json:"tag,omitempty"`
	// Text is Message.Text.
	Text string `json:"text"`
	// HTML is Message.HTML, omitted when empty.
	HTML string `json:"html,omitempty"`
}

// Outbox is the embedded Mailer: it appends each message to
// <dataDir>/outbox.jsonl. Lifecycle: NewOutbox, Send..., Close.
type Outbox struct {
	mu     sync.Mutex
	f      *os.File
	path   string
	clock  clock.Clock
	logger *slog.Logger
}

var _ Mailer = (*Outbox)(nil)

// ErrClosed reports a Send after Close.
var ErrClosed = errors.New("mail outbox closed")

// NewOutbox creates dataDir if needed (0700) and opens the outbox file for
// appending (created 0600: it holds live codes and links). A nil clock
// means the system clock; a nil logger discards.
func NewOutbox(dataDir string, clk clock.Clock, logger *slog.Logger) (*Outbox, error) {
	if dataDir == "" {
		return nil, errors.New("mail outbox: empty data directory")
	}
	if clk == nil {
		clk = clock.System{}
	}
	if err := privfile.MkdirAll(dataDir); err != nil {
		return nil, fmt.Errorf("mail outbox: %w", err)
	}
	path := filepath.Join(dataDir, OutboxFile)
	f, err := privfile.OpenAppend(path)
	if err != nil {
		return nil, fmt.Errorf("mail outbox: %w", err)
	}
	// Make the file's directory entry durable too: a synced file that
	// vanishes with its directory entry after a crash loses every mail.
	if d, err := os.Open(dataDir); err == nil {
		_ = d.Sync() // best effort: some filesystems refuse to sync directories
		_ = d.Close()
	}
	return &Outbox{f: f, path: path, clock: clk, logger: discardLogger(logger)}, nil
}

// Path returns the outbox file's path.
func (o *Outbox) Path() string { return o.path }

// Send appends msg as one JSON line and fsyncs before returning, so a nil
// error means the mail survives a crash. The line is written with one
// write on an O_APPEND descriptor, under a mutex, so lines never
// interleave.
func (o *Outbox) Send(ctx context.Context, msg Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	if err := msg.Validate(); err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	id, err := newID()
	if err != nil {
		return fmt.Errorf("mail outbox: %w", err)
	}
	line, err := json.Marshal(OutboxRecord{
		Time: o.clock.Now().UTC(), ID: id, To: msg.To, Subject: msg.Subject,
		Kind: msg.Kind, Tag: msg.Tag, Text: msg.Text, HTML: msg.HTML,
	})
	if err != nil {
		return fmt.Errorf("mail outbox: encode: %w", err)
	}
	line = append(line, '\n')

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return ErrClosed
	}
	if _, err := o.f.Write(line); err != nil {
		return fmt.Errorf("mail outbox: write %s: %w", o.path, err)
	}
	if err := o.f.Sync(); err != nil {
		return fmt.Errorf("mail outbox: sync %s: %w", o.path, err)
	}
	o.logger.LogAttrs(ctx, slog.LevelInfo, "mail queued in outbox", logAttrs(id, msg)...)
	return nil
}

// Close closes the file; later Sends fail with ErrClosed. It is safe to
// call more than once.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	err := o.f.Close()
	o.f = nil
	if err != nil {
		return fmt.Errorf("mail outbox: close: %w", err)
	}
	return nil
}
