package logfold

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultKeys are the attributes that tell one kind of repeated record
// from another: two records with the same message and the same values of
// these fold together, whatever their other attributes (an error's text,
// an evaluation id, a client address) say. Their values are bounded: a
// backend, a route, a rule, a file of the data dir, each its own line.
var DefaultKeys = []string{"backend", "kind", "signal", "route", "method", "db", "topic", "result",
	"component", "spool", "rule", "path", "file"}

// Defaults of Options.
const (
	DefaultInterval = 10 * time.Second
	// maxKeys bounds the records tracked; past it, new kinds pass
	// through unfolded rather than grow the map without limit.
	maxKeys = 4096
)

// Options configure New. The zero value folds warnings and errors over
// DefaultInterval on the system clock.
type Options struct {
	// Interval is how long a kind of record stays folded after its first
	// occurrence is written (default 10s).
	Interval time.Duration
	// Level is the lowest level folded (default slog.LevelWarn).
	Level slog.Leveler
	// Keys are the distinguishing attributes (default DefaultKeys).
	Keys []string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Handler folds repeated records; see the package documentation. Safe for
// concurrent use; the handlers WithAttrs and WithGroup return share its
// state.
type Handler struct {
	next   slog.Handler
	st     *state
	prefix string // the attributes and groups of this derived handler
}

type state struct {
	mu       sync.Mutex
	interval time.Duration
	level    slog.Leveler
	keys     []string
	now      func() time.Time
	seen     map[string]*entry
}

// entry is one kind of record within its interval.
type entry struct {
	start  time.Time
	folded int
	rec    slog.Record // the summary's template: level, message, key attributes
	h      slog.Handler
}

// New returns a Handler writing to next.
func New(next slog.Handler, o Options) *Handler {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Level == nil {
		o.Level = slog.LevelWarn
	}
	if o.Keys == nil {
		o.Keys = DefaultKeys
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Handler{next: next, st: &state{interval: o.Interval, level: o.Level, keys: o.Keys, now: o.Now,
		seen: map[string]*entry{}}}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range as {
		fmt.Fprintf(&b, "\x00%s=%s", a.Key, a.Value)
	}
	return &Handler{next: h.next.WithAttrs(as), st: h.st, prefix: b.String()}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{next: h.next.WithGroup(name), st: h.st, prefix: h.prefix + "\x00group:" + name}
}

// Handle implements slog.Handler: it writes r, or counts it when a record
// of its kind was written less than an interval ago.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	st := h.st
	if r.Level < st.level.Level() {
		return h.next.Handle(ctx, r)
	}
	key, keyAttrs := h.key(r)
	now := st.now()
	st.mu.Lock()
	e := st.seen[key]
	if e != nil && now.Sub(e.start) < st.interval {
		e.folded++
		st.mu.Unlock()
		return nil
	}
	var summary *slog.Record
	if e != nil && e.folded > 0 {
		s := e.summary(now)
		summary = &s
	}
	if e == nil && len(st.seen) >= maxKeys {
		st.mu.Unlock()
		return h.next.Handle(ctx, r)
	}
	tmpl := slog.NewRecord(time.Time{}, r.Level, r.Message, 0)
	tmpl.AddAttrs(keyAttrs...)
	st.seen[key] = &entry{start: now, rec: tmpl, h: h.next}
	st.mu.Unlock()
	if summary != nil {
		if err := h.next.Handle(ctx, *summary); err != nil {
			return err
		}
	}
	return h.next.Handle(ctx, r)
}

// Flush writes the summary of every kind whose interval is over and that
// folded records, and forgets the kinds idle for an interval. Call it
// every interval or so (the daemon does) so that the count of an outage's
// last interval is written even when nothing follows it.
func (h *Handler) Flush(ctx context.Context) error {
	st := h.st
	now := st.now()
	var out []*entry
	var recs []slog.Record
	st.mu.Lock()
	for k, e := range st.seen {
		if now.Sub(e.start) < st.interval {
			continue
		}
		if e.folded > 0 {
			out = append(out, e)
			recs = append(recs, e.summary(now))
		}
		delete(st.seen, k)
	}
	st.mu.Unlock()
	var first error
	for i, e := range out {
		if err := e.h.Handle(ctx, recs[i]); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// summary is the line that reports what e folded since its start.
func (e *entry) summary(now time.Time) slog.Record {
	span := now.Sub(e.start).Round(time.Second)
	r := slog.NewRecord(now, e.rec.Level, fmt.Sprintf("%s: %d more in the last %s", e.rec.Message, e.folded, span), 0)
	e.rec.Attrs(func(a slog.Attr) bool {
		r.AddAttrs(a)
		return true
	})
	r.AddAttrs(slog.Int("folded", e.folded))
	return r
}

// key is the record's kind: the handler's own attributes, the level, the
// message and the values of the distinguishing attributes, which it also
// returns for the summary.
func (h *Handler) key(r slog.Record) (string, []slog.Attr) {
	var b strings.Builder
	b.WriteString(h.prefix)
	fmt.Fprintf(&b, "\x00%d\x00%s", r.Level, r.Message)
	var as []slog.Attr
	r.Attrs(func(a slog.Attr) bool {
		if slices.Contains(h.st.keys, a.Key) {
			fmt.Fprintf(&b, "\x00%s=%s", a.Key, a.Value)
			as = append(as, a)
		}
		return true
	})
	return b.String(), as
}
