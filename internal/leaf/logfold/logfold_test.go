package logfold

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is the virtual clock the handler reads.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time      { return c.t }
func (c *fakeClock) add(d time.Duration) { c.t = c.t.Add(d) }
func newFake() *fakeClock                { return &fakeClock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)} }
func lines(buf *bytes.Buffer) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			panic(err)
		}
		out = append(out, m)
	}
	return out
}

func setup() (*bytes.Buffer, *fakeClock, *Handler, *slog.Logger) {
	var buf bytes.Buffer
	clk := newFake()
	h := New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), Options{Interval: 10 * time.Second, Now: clk.now})
	return &buf, clk, h, slog.New(h)
}

func TestFolding(t *testing.T) {
	t.Run("an outage: first line, then one count per interval", func(t *testing.T) {
		buf, clk, h, log := setup()
		// 1000 requests a second for 25 s, all meeting the same backend.
		for i := range 25_000 {
			if i > 0 && i%1000 == 0 {
				clk.add(time.Second)
			}
			log.Warn("backend unavailable", "backend", "postgres", "kind", "timeout", "route", "/v1/login", "err", "dial tcp: i/o timeout")
		}
		clk.add(10 * time.Second)
		require.NoError(t, h.Flush(context.Background()))
		got := lines(buf)
		// t=0 first line; t=10 summary (9999) + line; t=20 summary + line;
		// the flush: the last interval's count.
		msgs := make([]string, len(got))
		for i, l := range got {
			msgs[i] = l["msg"].(string)
		}
		assert.Equal(t, []string{
			"backend unavailable",
			"backend unavailable: 9999 more in the last 10s",
			"backend unavailable",
			"backend unavailable: 9999 more in the last 10s",
			"backend unavailable",
			"backend unavailable: 4999 more in the last 14s",
		}, msgs)
		assert.Equal(t, "postgres", got[1]["backend"])
		assert.Equal(t, "timeout", got[1]["kind"])
		assert.EqualValues(t, 9999, got[1]["folded"])
		assert.NotContains(t, got[1], "err", "a summary carries no error text")
		assert.Equal(t, "dial tcp: i/o timeout", got[0]["err"], "the first occurrence is written whole")
		var folded float64
		for _, l := range got {
			if f, ok := l["folded"].(float64); ok {
				folded += f
			} else {
				folded++
			}
		}
		assert.EqualValues(t, 25_000, folded, "every record is written or counted")
	})

	tests := []struct {
		name  string
		log   func(log *slog.Logger)
		lines int
	}{
		{"different backends are different kinds", func(log *slog.Logger) {
			for range 10 {
				log.Warn("backend unavailable", "backend", "postgres")
				log.Warn("backend unavailable", "backend", "redis")
			}
		}, 2},
		{"different messages are different kinds", func(log *slog.Logger) {
			for range 10 {
				log.Warn("a")
				log.Warn("b")
			}
		}, 2},
		{"other attributes do not tell records apart", func(log *slog.Logger) {
			for i := range 10 {
				log.Warn("matched rules not attached", "evaluation_id", i)
			}
		}, 1},
		{"levels are kinds of their own", func(log *slog.Logger) {
			for range 10 {
				log.Warn("x")
				log.Error("x")
			}
		}, 2},
		{"info and debug pass through", func(log *slog.Logger) {
			for range 10 {
				log.Info("rule set change audited")
				log.Debug("d")
			}
		}, 20},
		{"loggers with other attributes are other kinds", func(log *slog.Logger) {
			a, b := log.With("component", "a"), log.With("component", "b")
			for range 10 {
				a.Warn("x")
				b.Warn("x")
			}
		}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf, _, _, log := setup()
			tc.log(log)
			assert.Len(t, lines(buf), tc.lines)
		})
	}

	t.Run("flush forgets idle kinds and writes nothing for a lone record", func(t *testing.T) {
		buf, clk, h, log := setup()
		log.Warn("once")
		clk.add(11 * time.Second)
		require.NoError(t, h.Flush(context.Background()))
		assert.Len(t, lines(buf), 1)
		assert.Empty(t, h.st.seen)
		log.Warn("once")
		assert.Len(t, lines(buf), 2, "after the interval the record is written again")
	})

	t.Run("flush within the interval keeps counting", func(t *testing.T) {
		buf, clk, h, log := setup()
		log.Warn("x")
		log.Warn("x")
		clk.add(5 * time.Second)
		require.NoError(t, h.Flush(context.Background()))
		assert.Len(t, lines(buf), 1)
		log.Warn("x")
		clk.add(5 * time.Second)
		require.NoError(t, h.Flush(context.Background()))
		got := lines(buf)
		require.Len(t, got, 2)
		assert.Equal(t, "x: 2 more in the last 10s", got[1]["msg"])
	})
}
