package jsondepth

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDepth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int
	}{
		{``, 0},
		{`1`, 0},
		{`"[[["`, 0},
		{`[]`, 1},
		{`{}`, 1},
		{`[[]]`, 2},
		{`[[],[[]],{}]`, 3},
		{`{"a":{"b":[1,{"c":null}]}}`, 4},
		{`["\"[[[", "\\", [1]]`, 2}, // escaped quote, then an escaped backslash ending a string
		{`["\\\"{{", {}]`, 2},       // backslash pair then escaped quote: still inside
		{`"unterminated [[[[`, 0},   // the rest is a string
		{`]]]][[`, 2},               // stray closers are ignored, never let openers go uncounted
		{`[ 1 ] [ [ `, 2},           // trailing data is counted too
		{`{"k\u005b":"\u007b"}`, 1}, // escapes that spell brackets are text
		{"[\"\\\n[[\"]", 1},         // a backslash escapes whatever follows
		{strings.Repeat("[", 30000), 30000},
	} {
		assert.Equal(t, tc.want, Depth([]byte(tc.in)), "%.40q", tc.in)
	}
}

func TestExceedsAndCheck(t *testing.T) {
	t.Parallel()
	deep := func(n int) []byte { return []byte(strings.Repeat("[", n) + strings.Repeat("]", n)) }
	assert.False(t, Exceeds(deep(Limit), Limit))
	assert.True(t, Exceeds(deep(Limit+1), Limit))
	assert.NoError(t, Check(deep(Limit), Limit))
	err := Check(deep(Limit+1), Limit)
	require.ErrorIs(t, err, ErrTooDeep)
	assert.EqualError(t, err, "JSON nested too deeply: more than 32 levels of arrays and objects")
	assert.False(t, Exceeds([]byte(`"x"`), 0))
	assert.True(t, Exceeds([]byte(`[]`), 0))
}

// TestAgreesWithEncodingJSON ties the count to encoding/json's own
// definition of depth: it refuses a value nested deeper than 10,000
// levels, and Exceeds(b, 10000) says so for exactly the same values.
func TestAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, n := range []int{9999, 10000, 10001} {
		for _, open := range []string{"[", `{"k":`} {
			closer := "]"
			if open != "[" {
				closer = "}"
			}
			b := []byte(strings.Repeat(open, n) + "1" + strings.Repeat(closer, n))
			var v any
			err := json.Unmarshal(b, &v)
			assert.Equal(t, err != nil, Exceeds(b, 10000), "depth %d of %s: encoding/json says %v", n, open, err)
		}
	}
}

func TestAllocatesNothing(t *testing.T) {
	b := []byte(strings.Repeat(`{"a":["\"",`, 3000))
	assert.Zero(t, testing.AllocsPerRun(20, func() { Exceeds(b, Limit) }))
	assert.Zero(t, testing.AllocsPerRun(20, func() { Depth(b) }))
}

// tokenDepth is the reference for valid JSON: the deepest nesting
// encoding/json's tokenizer reports.
func tokenDepth(b []byte) (int, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber() // 1e400 is valid JSON, if no float64
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return deepest, nil
		}
		if err != nil {
			return 0, err
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			deepest = max(deepest, depth)
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
	}
}

// refParser is a small recursive-descent JSON parser, the kind the
// pre-scan protects: reached is the deepest nesting it entered before it
// finished or met its first error. It is a reference for small inputs
// only (it recurses).
type refParser struct {
	b       []byte
	i       int
	depth   int
	reached int
}

func (p *refParser) ws() {
	for p.i < len(p.b) && strings.IndexByte(" \t\r\n", p.b[p.i]) >= 0 {
		p.i++
	}
}

func (p *refParser) value() bool {
	p.ws()
	if p.i >= len(p.b) {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '[' || c == '{':
		closer := byte(']')
		if c == '{' {
			closer = '}'
		}
		p.i++
		p.depth++
		p.reached = max(p.reached, p.depth)
		defer func() { p.depth-- }()
		p.ws()
		if p.i < len(p.b) && p.b[p.i] == closer {
			p.i++
			return true
		}
		for {
			if c == '{' {
				p.ws()
				if p.i >= len(p.b) || p.b[p.i] != '"' || !p.str() {
					return false
				}
				p.ws()
				if p.i >= len(p.b) || p.b[p.i] != ':' {
					return false
				}
				p.i++
			}
			if !p.value() {
				return false
			}
			p.ws()
			if p.i >= len(p.b) {
				return false
			}
			switch p.b[p.i] {
			case ',':
				p.i++
			case closer:
				p.i++
				return true
			default:
				return false
			}
		}
	case c == '"':
		return p.str()
	default:
		// Scalars: whatever run of literal characters json.Valid accepts.
		start := p.i
		for p.i < len(p.b) && strings.IndexByte("+-.0123456789eEtruefalsn", p.b[p.i]) >= 0 {
			p.i++
		}
		return json.Valid(p.b[start:p.i])
	}
}

func (p *refParser) str() bool {
	for p.i++; p.i < len(p.b); p.i++ {
		switch p.b[p.i] {
		case '\\':
			p.i++
		case '"':
			p.i++
			return true
		}
	}
	return false
}

// FuzzDepth holds the pre-scan to two references: on valid JSON it is the
// depth encoding/json's tokenizer reports; on any input it is never less
// than the depth a recursive parser reaches before its first error (so no
// body gets a parser deeper than the limit it passed); and Exceeds is
// Depth compared with the limit.
func FuzzDepth(f *testing.F) {
	for _, s := range []string{
		``, `1`, `[]`, `{"a":[1,{"b":null}]}`, `"\"[["`, `["\\\"{{", {}]`, `]]]][[`,
		`[1 [[[`, `{"a" [[`, "[\"\\\n[[\"]", `{"k\u005b":"\u007b"}`,
		strings.Repeat("[", 40), strings.Repeat("[", 33) + strings.Repeat("]", 33),
		strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40),
		strings.Repeat(`["\"",`, 40), strings.Repeat("[", 2000) + strings.Repeat("]", 2000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Depth(b)
		for _, limit := range []int{0, 1, 2, 3, 8, Limit} {
			if Exceeds(b, limit) != (d > limit) {
				t.Fatalf("Exceeds(%d) = %v with Depth %d", limit, !(d > limit), d)
			}
		}
		if len(b) > 4096 {
			return // the references recurse
		}
		if json.Valid(b) {
			want, err := tokenDepth(b)
			if err != nil {
				t.Fatalf("tokenizer refused valid JSON: %v", err)
			}
			if d != want {
				t.Fatalf("Depth %d, encoding/json's tokenizer %d", d, want)
			}
		}
		p := refParser{b: b}
		p.value()
		if d < p.reached {
			t.Fatalf("Depth %d, but a recursive parser reaches %d", d, p.reached)
		}
	})
}

// BenchmarkExceeds: the pre-scan of a typical risk API body and of a
// 60 KB body of 30,000 nested arrays (which it refuses at level 33).
func BenchmarkExceeds(b *testing.B) {
	typical := []byte(`{"event":"login","user_id":"usr_0012345","ip":"203.0.113.77","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36","device":{"cookie_id":"dvc_9f8e7d6c5b4a39281726354a","platform":"Win32","languages":["en-US","en"],"timezone":"Europe/Berlin","screen_width":1920,"screen_height":1080},"attributes":{"app":"web"},"password":"pw-0123456789ab"}`)
	nested := []byte(strings.Repeat("[", 30000) + strings.Repeat("]", 30000))
	for _, c := range []struct {
		name string
		body []byte
	}{{"typical", typical}, {"nested-60KB", nested}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				Exceeds(c.body, Limit)
			}
		})
	}
}
