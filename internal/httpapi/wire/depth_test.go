package wire

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
)

// entryPoints are the decoders of every JSON body of the API, each with a
// legitimate body to bury things in.
var entryPoints = []struct {
	name string
	// prefix opens a legitimate body up to where a member's value goes.
	prefix, suffix string
	decode         func(d *Decoder, body []byte) error
}{
	// A body that starts like a typical one takes the fast path, which
	// gives up at maxScanDepth and hands over to the general path.
	{"evaluate/fast-path", `{"event":"login","user_id":"u1","ip":"203.0.113.7","x":`, `}`,
		func(d *Decoder, b []byte) error { _, err := d.DecodeEvaluate(b); return err }},
	// An escape in a kept value sends the body to the general path at once.
	{"evaluate/general-path", `{"event":"lo\u0067in","x":`, `}`,
		func(d *Decoder, b []byte) error { _, err := d.DecodeEvaluate(b); return err }},
	{"outcome", `{"evaluation_id":"ev_1","outcome":"success","x":`, `}`,
		func(d *Decoder, b []byte) error { _, err := d.DecodeOutcome(b); return err }},
	{"authn/login", `{"identifier":"a@b.example","password":"pw","client":{"attributes":{},"x":`, `}}`,
		func(d *Decoder, b []byte) error { _, err := d.DecodeAuthn(ShapeLogin, b); return err }},
	{"authn/register", `{"email":"a@b.example","password":"correct horse battery staple","x":`, `}`,
		func(d *Decoder, b []byte) error { _, err := d.DecodeAuthn(ShapeRegister, b); return err }},
	{"authn/client", `{"x":`, `}`,
		func(d *Decoder, b []byte) error { _, err := d.DecodeAuthn(ShapeClient, b); return err }},
}

// nest returns n levels of arrays or of objects around a scalar.
func nest(n int, objects bool) string {
	if objects {
		return strings.Repeat(`{"k":`, n) + "1" + strings.Repeat("}", n)
	}
	return strings.Repeat("[", n) + "1" + strings.Repeat("]", n)
}

// levels is how many arrays and objects the prefix leaves open: the
// depth of the value buried after it is on top of those.
func levels(prefix string) int {
	const probe = 64 // deeper than anything the prefix itself nests
	return jsondepth.Depth([]byte(prefix+strings.Repeat("[", probe))) - probe
}

func TestDeepBodiesRefused(t *testing.T) {
	t.Parallel()
	const want = "malformed_json: the JSON nests arrays and objects more than 32 levels deep"
	for _, ep := range entryPoints {
		t.Run(ep.name, func(t *testing.T) {
			t.Parallel()
			var d Decoder
			room := jsondepth.Limit - levels(ep.prefix)
			for _, tc := range []struct {
				name string
				body string
				ok   bool // not refused for its depth (it may fail otherwise)
			}{
				{"arrays at the limit", ep.prefix + nest(room, false) + ep.suffix, true},
				{"objects at the limit", ep.prefix + nest(room, true) + ep.suffix, true},
				{"arrays one past the limit", ep.prefix + nest(room+1, false) + ep.suffix, false},
				{"objects one past the limit", ep.prefix + nest(room+1, true) + ep.suffix, false},
				{"30,000 nested arrays alone (60 KB)", strings.Repeat("[", 30000) + strings.Repeat("]", 30000), false},
				{"30,000 nested arrays inside a member", ep.prefix + nest(30000, false) + ep.suffix, false},
				{"unclosed arrays inside a member", ep.prefix + strings.Repeat("[", 30000), false},
				{"brackets inside strings are text", ep.prefix + `"` + strings.Repeat("[", 30000) + `"` + ep.suffix, true},
			} {
				err := ep.decode(&d, []byte(tc.body))
				if tc.ok {
					if err != nil {
						assert.NotContains(t, err.Error(), "levels deep", tc.name)
					}
					continue
				}
				var we *Error
				require.True(t, errors.As(err, &we), "%s: %v", tc.name, err)
				assert.Equal(t, want, we.Error(), tc.name)
				checkErrorShape(t, we)
			}
		})
	}
}

// TestDeepBodyWorkIsBounded measures what refusing a 60 KB body of
// 30,000 nested arrays costs each decoder: heap bytes (MemStats deltas,
// so not parallel) and the stack the decoding goroutine grows to. Before
// the nesting check each refusal allocated 4.6 MB and grew a stack of
// 8-17 MB. Nothing here depends on the machine's speed.
func TestDeepBodyWorkIsBounded(t *testing.T) {
	const runs = 20
	nested := []byte(strings.Repeat("[", 30000) + strings.Repeat("]", 30000))
	for _, ep := range entryPoints {
		for _, body := range [][]byte{nested, []byte(ep.prefix + string(nested) + ep.suffix)} {
			var d Decoder
			require.Error(t, ep.decode(&d, body)) // warm the parser pool

			allocs := testing.AllocsPerRun(runs, func() { _ = ep.decode(&d, body) })
			assert.LessOrEqual(t, allocs, 4.0, "%s: allocations per refused body (the error, a request struct)", ep.name)

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			for range runs {
				_ = ep.decode(&d, body)
			}
			runtime.ReadMemStats(&after)
			perBody := (after.TotalAlloc - before.TotalAlloc) / runs
			assert.Less(t, perBody, uint64(64<<10), "%s: heap bytes per refused %d-byte body", ep.name, len(body))

			grown := stackGrowth(func() { _ = ep.decode(&d, body) })
			assert.Less(t, grown, uint64(256<<10), "%s: stack grown to refuse a %d-byte body", ep.name, len(body))
		}
	}
}

// stackGrowth runs f on a fresh goroutine and returns how much the
// process's stack memory in use grew meanwhile: the stack f needed beyond
// a new goroutine's (stacks are only shrunk by a garbage collection).
func stackGrowth(f func()) uint64 {
	done := make(chan uint64)
	go func() {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		done <- max(after.StackInuse, before.StackInuse) - before.StackInuse
	}()
	return <-done
}

// FuzzOutcomeRequest feeds arbitrary bodies to the outcome decoder: it
// never panics; a failure is a 400 malformed_json (always, for a body
// nested past the limit) or a 422 with fields, in the stable shape; a
// success names an evaluation and a valid outcome.
func FuzzOutcomeRequest(f *testing.F) {
	for _, s := range []string{
		`{"evaluation_id":"ev_1","outcome":"success"}`, `{"evaluation_id":"ev_1","outcome":"nope"}`,
		`{"evaluation_id":1}`, `{}`, `null`, `[]`, ``, `{"evaluation_id":"\u0000","outcome":"fraud"}`,
		`{"evaluation_id":"ev_1","outcome":"legit","x":` + nest(31, false) + `}`,
		`{"evaluation_id":"ev_1","outcome":"legit","x":` + nest(32, true) + `}`,
		nest(2000, false), strings.Repeat("[", 2000),
	} {
		f.Add([]byte(s))
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := d.DecodeOutcome(body)
		if err != nil {
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("not an *Error: %v", err)
			}
			checkErrorShape(t, we)
			checkDepthError(t, body, we)
			return
		}
		if o.EvaluationID == "" || !o.Outcome.Valid() || jsondepth.Exceeds(body, jsondepth.Limit) {
			t.Fatalf("accepted %q as %+v", body, o)
		}
	})
}

// checkDepthError checks that a body nested past the limit, and only
// such a body, is refused for its depth.
func checkDepthError(t *testing.T, body []byte, e *Error) {
	t.Helper()
	deep := jsondepth.Exceeds(body, jsondepth.Limit)
	if deep != (e.Code == CodeMalformedJSON && e.Message == msgTooDeep) {
		t.Fatalf("%q (depth %d): %v", body, jsondepth.Depth(body), e)
	}
}

func TestMessageNamesLimit(t *testing.T) {
	t.Parallel()
	assert.Contains(t, msgTooDeep, fmt.Sprintf(" %d ", jsondepth.Limit))
	assert.Equal(t, jsondepth.Limit, maxScanDepth, "the fast path follows as deep as the general path accepts")
}
