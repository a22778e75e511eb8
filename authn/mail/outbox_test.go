package mail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riskauth/riskauth/engine/clock"
	"github.com/stretchr/testify/require"
)

func readOutbox(t *testing.T, path string) []OutboxRecord {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []OutboxRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r OutboxRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "every line is one JSON object")
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}

func testMessage(i int) Message {
	return Message{
		To:      fmt.Sprintf("user%d@example.org", i),
		Subject: "Your Example sign-in code",
		Text:    fmt.Sprintf("Your code is %06d\n", i),
		HTML:    fmt.Sprintf("<p>%06d</p>", i),
		Kind:    KindLoginCode,
		Tag:     "flow-1",
	}
}

func TestOutbox(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	var logs bytes.Buffer
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	o, err := NewOutbox(dir, clock.NewManual(now), slog.New(slog.NewJSONHandler(&logs, nil)))
	require.NoError(t, err)

	msg := testMessage(428193)
	require.NoError(t, o.Send(context.Background(), msg))
	require.NoError(t, o.Close())
	require.NoError(t, o.Close(), "Close is idempotent")
	require.ErrorIs(t, o.Send(context.Background(), msg), ErrClosed)

	recs := readOutbox(t, o.Path())
	require.Len(t, recs, 1)
	r := recs[0]
	require.Equal(t, now, r.Time)
	require.Len(t, r.ID, 32)
	require.Equal(t, msg.To, r.To)
	require.Equal(t, msg.Subject, r.Subject)
	require.Equal(t, msg.Kind, r.Kind)
	require.Equal(t, msg.Text, r.Text)
	require.Equal(t, msg.HTML, r.HTML)
	require.Equal(t, "flow-1", r.Tag)

	raw, err := os.ReadFile(o.Path())
	require.NoError(t, err)
	for _, field := range []string{`"time":`, `"id":`, `"to":`, `"subject":`, `"kind":"login_code"`, `"text":`, `"html":`} {
		require.Contains(t, string(raw), field)
	}

	fi, err := os.Stat(o.Path())
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the outbox holds live codes")
	di, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	// The log line says what was sent, not what it said.
	require.Contains(t, logs.String(), `"kind":"login_code"`)
	require.Contains(t, logs.String(), RedactRecipient(msg.To))
	require.NotContains(t, logs.String(), "428193")
	require.NotContains(t, logs.String(), msg.To)
}

func TestOutboxAppendsAcrossReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := range 3 {
		o, err := NewOutbox(dir, nil, nil)
		require.NoError(t, err)
		require.NoError(t, o.Send(context.Background(), testMessage(i)))
		require.NoError(t, o.Close())
	}
	recs := readOutbox(t, filepath.Join(dir, OutboxFile))
	require.Len(t, recs, 3)
	require.Equal(t, "user2@example.org", recs[2].To)
}

func TestOutboxConcurrent(t *testing.T) {
	t.Parallel()
	o, err := NewOutbox(t.TempDir(), nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = o.Close() })
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { require.NoError(t, o.Send(context.Background(), testMessage(i))) })
	}
	wg.Wait()
	recs := readOutbox(t, o.Path())
	require.Len(t, recs, n)
	ids := map[string]bool{}
	tos := map[string]bool{}
	for _, r := range recs {
		ids[r.ID] = true
		tos[r.To] = true
	}
	require.Len(t, ids, n, "unique ids")
	require.Len(t, tos, n, "every message exactly once")
}

func TestOutboxRejects(t *testing.T) {
	t.Parallel()
	o, err := NewOutbox(t.TempDir(), nil, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = o.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, o.Send(ctx, testMessage(1)), context.Canceled)

	bad := testMessage(1)
	bad.To = "a@example.org, b@example.org"
	require.ErrorIs(t, o.Send(context.Background(), bad), ErrInvalidMessage)

	_, err = NewOutbox("", nil, nil)
	require.ErrorContains(t, err, "empty data directory")
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	_, err = NewOutbox(file, nil, nil)
	require.Error(t, err, "data dir is a file")
}

func TestMessageValidate(t *testing.T) {
	t.Parallel()
	ok := testMessage(1)
	tests := []struct {
		name    string
		mod     func(*Message)
		errText string
	}{
		{name: "ok", mod: func(*Message) {}},
		{name: "no html ok", mod: func(m *Message) { m.HTML = "" }},
		{name: "no recipient", mod: func(m *Message) { m.To = "" }, errText: "no recipient"},
		{name: "display name", mod: func(m *Message) { m.To = "Alice <alice@example.org>" }, errText: "single bare address"},
		{name: "two recipients", mod: func(m *Message) { m.To = "a@example.org,b@example.org" }, errText: "single bare address"},
		{name: "header injection in to", mod: func(m *Message) { m.To = "a@example.org\r\nBcc: b@example.org" }, errText: "single bare address"},
		{name: "not an address", mod: func(m *Message) { m.To = "alice" }, errText: "single bare address"},
		{name: "no kind", mod: func(m *Message) { m.Kind = "" }, errText: "no kind"},
		{name: "no subject", mod: func(m *Message) { m.Subject = "" }, errText: "no subject"},
		{name: "subject newline", mod: func(m *Message) { m.Subject = "Hi\r\nBcc: x@example.org" }, errText: "line break"},
		{name: "no text", mod: func(m *Message) { m.Text = "" }, errText: "no text body"},
		{name: "tag control", mod: func(m *Message) { m.Tag = "a\nb" }, errText: "tag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := ok
			tt.mod(&m)
			err := m.Validate()
			if tt.errText == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidMessage)
			require.ErrorContains(t, err, tt.errText)
			require.NotContains(t, err.Error(), "example.org", "addresses are personal data")
		})
	}
}

func TestRedactRecipient(t *testing.T) {
	t.Parallel()
	a := RedactRecipient("Alice@Example.org")
	require.Equal(t, a, RedactRecipient(" alice@example.org "))
	require.Regexp(t, `^[0-9a-f]{12}@example\.org$`, a)
	require.NotEqual(t, a, RedactRecipient("bob@example.org"))
	require.Regexp(t, `@invalid$`, RedactRecipient("nobody"))
}

// TestOutboxForget: an erased user's mail leaves the outbox, others'
// stay, and mail goes on being appended.
func TestOutboxForget(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o, err := NewOutbox(dir, nil, nil)
	require.NoError(t, err)
	defer o.Close()
	for _, to := range []string{"gone@example.com", "kept@example.com", "gone@example.com"} {
		require.NoError(t, o.Send(context.Background(), Message{To: to, Subject: "s", Text: "t\n", Kind: KindPasswordReset}))
	}
	o.Forget("user-id-1", "gone@example.com")
	require.NoError(t, o.Send(context.Background(), Message{To: "new@example.com", Subject: "s", Text: "t\n", Kind: KindPasswordReset}))
	b, err := os.ReadFile(o.Path())
	require.NoError(t, err)
	require.NotContains(t, string(b), "gone@example.com")
	require.Contains(t, string(b), "kept@example.com")
	require.Contains(t, string(b), "new@example.com")
}
