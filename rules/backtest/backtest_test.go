package backtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/rules/backtest"
	"github.com/riskauth/riskauth/rules/backtest/fixture"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*")

// recorded runs the fixture's scripted day through the real engine with
// testdata/baseline.yaml once per test binary.
var recorded = sync.OnceValues(func() ([]*engine.Decision, error) {
	return fixture.Decisions(context.Background(), "testdata/baseline.yaml")
})

func decisions(t testing.TB) []*engine.Decision {
	t.Helper()
	ds, err := recorded()
	require.NoError(t, err)
	return ds
}

// jsonl is the fixture's decisions as a decisions file; findings adds the
// Detection Findings a mixed alerts file has.
func jsonl(t testing.TB, events int, findings bool) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, fixture.Write(&b, decisions(t), fixture.WriteOptions{Events: events, Findings: findings}))
	return b.Bytes()
}

func loadRules(t testing.TB, name string) *rules.RuleSet {
	t.Helper()
	s, err := rules.NewSchema(engine.CounterNames(engine.DefaultCounters()))
	require.NoError(t, err)
	rs, err := rules.LoadFile(filepath.Join("testdata", name), s)
	require.NoError(t, err)
	return rs
}

// withProblems inserts bad lines after the given 1-based line numbers of
// in (in order), so tests know where they land.
func withProblems(in []byte, at map[int]string) []byte {
	lines := bytes.SplitAfter(in, []byte("\n"))
	var out bytes.Buffer
	for i, l := range lines {
		out.Write(l)
		if bad, ok := at[i+1]; ok {
			out.WriteString(bad + "\n")
		}
	}
	return out.Bytes()
}

func run(t testing.TB, in []byte, candidate string, opts backtest.Options) *backtest.Report {
	t.Helper()
	rep, err := backtest.Run(context.Background(), bytes.NewReader(in), loadRules(t, candidate), opts)
	require.NoError(t, err)
	return rep
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "go test ./rules/backtest -update creates it")
	if d := firstDiff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (go test ./rules/backtest -update rewrites it):\n%s", path, d)
	}
}

// firstDiff shows the first line where two texts differ, or "".
func firstDiff(want, got string) string {
	if want == got {
		return ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl || i >= len(w) || i >= len(g) {
			return fmt.Sprintf("line %d\nwant: %q\n got: %q", i+1, wl, gl)
		}
	}
	return "texts differ"
}

// TestReportGolden renders each case as table, JSON and HTML and compares
// with testdata/golden.
func TestReportGolden(t *testing.T) {
	mixed := withProblems(jsonl(t, 0, true), map[int]string{
		3:  "not json at all",
		20: `{"class_uid":3002,"metadata":{"uid":"m-1"}}`,
		21: "",
		40: `{"class_uid":3002,"metadata":{"uid":"m-2"},"unmapped":{"riskauth":{"decision":"block","features":{"velocity":{"no_such_counter":1}}}}}`,
	})
	cases := []struct {
		name      string
		in        []byte
		candidate string
		baseline  string
	}{
		{"candidate", mixed, "candidate.yaml", "baseline.yaml"},
		{"candidate-inferred", jsonl(t, 0, false), "candidate.yaml", ""},
		{"unchanged", jsonl(t, 0, false), "baseline.yaml", "baseline.yaml"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := backtest.Options{Samples: 3}
			if c.baseline != "" {
				opts.Baseline = loadRules(t, c.baseline)
			}
			rep := run(t, c.in, c.candidate, opts)
			for _, f := range []struct {
				ext   string
				write func(io.Writer, *backtest.Report) error
			}{{"txt", backtest.WriteTable}, {"json", backtest.WriteJSON}, {"html", backtest.WriteHTML}} {
				var b bytes.Buffer
				require.NoError(t, f.write(&b, rep))
				golden(t, c.name+"."+f.ext, b.Bytes())
			}
		})
	}
}

// TestUnchangedRulesReproduce replays the recorded events through the
// rule set that recorded them: no decision changes, every rule hits as
// often as the recorded reasons say, and the floored events keep their
// floor. It is the backtest's own round trip.
func TestUnchangedRulesReproduce(t *testing.T) {
	t.Parallel()
	rep := run(t, jsonl(t, 0, true), "baseline.yaml", backtest.Options{})
	tot := rep.Totals
	require.Equal(t, int64(len(decisions(t))), tot.Replayed)
	require.Zero(t, tot.Changed)
	require.Positive(t, tot.Floored)
	require.Equal(t, tot.Floored, tot.FloorHeld, "the floored events' own verdict is below the floor")
	require.Positive(t, tot.Skipped, "the findings are skipped")
	require.Equal(t, []backtest.ClassCount{{ClassUID: 2004, Count: tot.Skipped}}, rep.SkippedClasses)
	require.Equal(t, rep.Decisions.Before, rep.Decisions.After)
	require.Equal(t, rep.Scores.Before, rep.Scores.After)
	for _, r := range rep.Rules {
		if r.Mode == "enforce" {
			require.Equal(t, r.BaselineHits, r.CandidateHits, r.ID)
		}
	}
	require.Empty(t, rep.Changes)
}

// TestCandidateChanges checks that each change in candidate.yaml shows up
// in the matrix and samples where the fixture's script says it must.
func TestCandidateChanges(t *testing.T) {
	t.Parallel()
	rep := run(t, jsonl(t, 0, false), "candidate.yaml", backtest.Options{Baseline: loadRules(t, "baseline.yaml"), Samples: 100})
	cell := func(from, to risk.Action) int64 { return rep.Matrix[int(from)*3+int(to)].Count }
	changes := map[string]backtest.Change{}
	for _, c := range rep.Changes {
		changes[c.From.String()+">"+c.To.String()] = c
		require.Len(t, c.Samples, int(c.Count), "Samples 100 keeps them all")
	}
	cases := []struct {
		name     string
		from, to risk.Action
		n        int64
		rule     string // in the samples' candidate rules
	}{
		{"a new phone steps up (new-device 40)", risk.Passwordless, risk.StepUp, 10, "new-device"},
		{"impossible travel blocks", risk.StepUp, risk.Block, 5, "impossible-travel"},
		{"a Tor exit alone no longer steps up", risk.StepUp, risk.Passwordless, 3, "new-country"},
		{"spraying needs 15 failed users", risk.Block, risk.Passwordless, 5, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.n, cell(c.from, c.to))
			ch, ok := changes[c.from.String()+">"+c.to.String()]
			require.True(t, ok)
			for _, s := range ch.Samples {
				require.Equal(t, c.from, s.Before.Decision)
				require.Equal(t, c.to, s.After.Decision)
				if c.rule != "" {
					require.Contains(t, s.After.Rules, c.rule)
				}
				require.NotEmpty(t, s.EvaluationID)
				require.False(t, s.Time.IsZero())
			}
		})
	}
	require.Equal(t, []string{"tor-exit"}, rep.RuleChanges.Added)
	require.Equal(t, []string{"anonymous-network"}, rep.RuleChanges.Removed)
	require.True(t, rep.RuleChanges.Exact)
	// The floored events are passwordless by the candidate's own verdict
	// too: the floor holds them at step_up.
	require.Equal(t, rep.Totals.Floored, rep.Totals.FloorHeld)
	require.Zero(t, cell(risk.StepUp, risk.Passwordless)-3, "no floored event dropped below the floor")
}

// TestProblems feeds one bad line at a time after a good one and checks
// how it is counted and listed.
func TestProblems(t *testing.T) {
	t.Parallel()
	good := bytes.SplitAfter(jsonl(t, 1, false), []byte("\n"))[0]
	limit := len(good) + 64
	long := `{"class_uid":3002,"pad":"` + strings.Repeat("x", limit) + `"}`
	cases := []struct {
		name  string
		line  string
		field func(backtest.Totals) int64
		kind  string // listed problem kind, "" when only counted
	}{
		{"not json", "{{{", func(t backtest.Totals) int64 { return t.Malformed }, backtest.ProblemMalformed},
		{"truncated", string(good[:len(good)/2]), func(t backtest.Totals) int64 { return t.Malformed }, backtest.ProblemMalformed},
		{"authentication from another producer", `{"class_uid":3002,"metadata":{"uid":"x"}}`, func(t backtest.Totals) int64 { return t.Malformed }, backtest.ProblemMalformed},
		{"no class", `{"metadata":{"uid":"x"}}`, func(t backtest.Totals) int64 { return t.Malformed }, backtest.ProblemMalformed},
		{"unknown decision", `{"class_uid":3002,"metadata":{"uid":"x"},"unmapped":{"riskauth":{"decision":"maybe"}}}`, func(t backtest.Totals) int64 { return t.Malformed }, backtest.ProblemMalformed},
		{"too long", long, func(t backtest.Totals) int64 { return t.Malformed }, backtest.ProblemMalformed},
		{"account change", `{"class_uid":3001,"metadata":{"uid":"x"}}`, func(t backtest.Totals) int64 { return t.Skipped }, ""},
		{"no features", `{"class_uid":3002,"metadata":{"uid":"x"},"unmapped":{"riskauth":{"decision":"block"}}}`, func(t backtest.Totals) int64 { return t.NoFeatures }, ""},
		{"unknown counter", `{"class_uid":3002,"metadata":{"uid":"x"},"unmapped":{"riskauth":{"decision":"block","features":{"velocity":{"nope_1m":1}}}}}`,
			func(t backtest.Totals) int64 { return t.InvalidFeatures }, backtest.ProblemInvalidFeatures},
		{"blank", "   \t", func(t backtest.Totals) int64 { return t.Blank }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := string(good) + c.line + "\r\n" + string(good) // the last line has no newline
			rep := run(t, []byte(in), "baseline.yaml", backtest.Options{MaxLineBytes: limit})
			require.Equal(t, int64(3), rep.Totals.Lines)
			require.Equal(t, int64(2), rep.Totals.Replayed)
			require.Equal(t, int64(1), c.field(rep.Totals))
			require.Equal(t, int64(len(in)), rep.Totals.Bytes)
			if c.kind == "" {
				require.Empty(t, rep.Problems)
				return
			}
			require.Len(t, rep.Problems, 1)
			require.Equal(t, int64(2), rep.Problems[0].Line)
			require.Equal(t, c.kind, rep.Problems[0].Kind)
		})
	}
	t.Run("listed up to the cap, lowest lines first", func(t *testing.T) {
		var in strings.Builder
		for range 50 {
			in.WriteString("x\n")
		}
		rep := run(t, []byte(in.String()), "baseline.yaml", backtest.Options{MaxProblems: 7, Workers: 3})
		require.Equal(t, int64(50), rep.Totals.Malformed)
		require.Len(t, rep.Problems, 7)
		for i, p := range rep.Problems {
			require.Equal(t, int64(i+1), p.Line)
		}
	})
}

// TestDeterministic runs the same input on different worker counts: the
// report is the same to the byte, samples included.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	n := 20_000
	if testing.Short() {
		n = 3_000
	}
	in := withProblems(jsonl(t, n, true), map[int]string{100: "x", 2000: "y", 2500: "z"})
	var want []byte
	for _, w := range []int{1, 2, 5} {
		rep := run(t, in, "candidate.yaml", backtest.Options{Workers: w, Samples: 4, MaxProblems: 2})
		var b bytes.Buffer
		require.NoError(t, backtest.WriteJSON(&b, rep))
		if want == nil {
			want = b.Bytes()
			require.Equal(t, int64(n), rep.Totals.Replayed)
			require.Len(t, rep.Problems, 2)
			require.Equal(t, []int64{101, 2002}, []int64{rep.Problems[0].Line, rep.Problems[1].Line})
			continue
		}
		require.Equal(t, string(want), b.String(), "workers %d", w)
	}
}

// TestCancel stops a run whose context is cancelled.
func TestCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := bytes.Repeat(jsonl(t, 0, false), 50)
	_, err := backtest.Run(ctx, bytes.NewReader(in), loadRules(t, "baseline.yaml"), backtest.Options{})
	require.ErrorIs(t, err, context.Canceled)
}

// TestUntrustedText puts markup and terminal escapes into the fields a
// report shows (user id, identifier, recorded rule ids) through the real
// encoder, and checks that no renderer passes them through raw.
func TestUntrustedText(t *testing.T) {
	t.Parallel()
	ds := decisions(t)
	var evil []*engine.Decision
	for _, d := range ds {
		if d.Action != risk.StepUp || len(d.Reasons) == 0 {
			continue
		}
		c := *d
		ev := *d.Event
		ev.UserID = "<script>alert(1)</script>\x1b[31m"
		c.Event = &ev
		c.Reasons = append([]engine.Reason{{Rule: `<img src=x onerror=alert(2)>`, Score: 1}}, d.Reasons...)
		evil = append(evil, &c)
	}
	require.NotEmpty(t, evil)
	var in bytes.Buffer
	require.NoError(t, fixture.Write(&in, evil, fixture.WriteOptions{}))
	rep := run(t, in.Bytes(), "candidate.yaml", backtest.Options{})
	require.Positive(t, rep.Totals.Changed)

	var tbl, html bytes.Buffer
	require.NoError(t, backtest.WriteTable(&tbl, rep))
	require.NoError(t, backtest.WriteHTML(&html, rep))
	require.NotContains(t, tbl.String(), "\x1b", "no terminal escape reaches the table")
	require.Contains(t, tbl.String(), "<script>alert(1)</script>\uFFFD[31m")
	for _, raw := range []string{"<script>alert(1)", "<img src=x", "<script>alert(1)</script>"} {
		require.NotContains(t, html.String(), raw)
	}
	require.Contains(t, html.String(), "&lt;script&gt;alert(1)&lt;/script&gt;")
	require.Contains(t, html.String(), "&lt;img src=x onerror=alert(2)&gt;")
	require.NotContains(t, html.String(), "<script", "the page has no script at all")
}

// TestLarge replays a generated file of one million decision events (the
// fixture's decisions with their own ids and times) and checks the exact
// counts and that the heap stays bounded while it runs. It never checks
// time; BenchmarkBacktest and docs/benchmarks.md measure speed.
func TestLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("1M events: skipped under -short")
	}
	const n = 1_000_000
	ds := decisions(t)
	path := filepath.Join(t.TempDir(), "decisions.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, fixture.Write(f, ds, fixture.WriteOptions{Events: n, Shift: time.Hour}))
	require.NoError(t, f.Close())
	generated := time.Since(start)

	// What one pass over the distinct decisions gives, scaled: n is not a
	// multiple of len(ds), so count per decision.
	small := run(t, jsonl(t, 0, false), "candidate.yaml", backtest.Options{})
	require.Equal(t, int64(len(ds)), small.Totals.Replayed)

	in, err := os.Open(path)
	require.NoError(t, err)
	defer in.Close()
	st, err := in.Stat()
	require.NoError(t, err)

	// As riskctl runs it (see cmd/riskctl/backtest.go).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	runtime.GC()
	// The live heap as the last collection marked it: what the run
	// holds, independent of how far garbage grew before the collector
	// caught up (GOGC=400, and a starved collector on a loaded machine,
	// would make HeapAlloc measure the machine, not the backtester).
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	base := live[0].Value.Uint64()
	var peak uint64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				metrics.Read(live)
				peak = max(peak, live[0].Value.Uint64())
			}
		}
	}()
	start = time.Now()
	rep, err := backtest.Run(context.Background(), in, loadRules(t, "candidate.yaml"), backtest.Options{})
	replayed := time.Since(start)
	close(done)
	<-sampled
	require.NoError(t, err)

	tot := rep.Totals
	require.Equal(t, int64(n), tot.Lines)
	require.Equal(t, st.Size(), tot.Bytes)
	require.Equal(t, int64(n), tot.Replayed)
	require.Zero(t, tot.Malformed+tot.InvalidFeatures+tot.NoFeatures+tot.Skipped)
	// Expected counts: each distinct decision's outcome (from a replay of
	// each one) times how often it occurs in the file.
	want := expectedMatrix(t, ds, n)
	for i, c := range rep.Matrix {
		require.Equal(t, want[i], c.Count, "matrix %s -> %s", c.From, c.To)
	}
	for _, c := range rep.Changes {
		require.LessOrEqual(t, len(c.Samples), backtest.DefaultSamples)
	}
	// Bounded: the file is ~3 GB; the run may hold batches in flight and
	// garbage between collections, never the input.
	const bound = 64 << 20
	// Times are logged for whoever reads -v output, never checked.
	t.Logf("%d events, %d MiB input, generated in %s, replayed in %s, peak live heap %d MiB (baseline %d MiB)",
		n, st.Size()>>20, generated.Round(time.Millisecond), replayed.Round(time.Millisecond), peak>>20, base>>20)
	require.Less(t, peak, uint64(bound), "live heap stays bounded")
}

// expectedMatrix replays each distinct decision on its own and weighs its
// cell by how many of the n generated events are copies of it.
func expectedMatrix(t *testing.T, ds []*engine.Decision, n int) []int64 {
	t.Helper()
	out := make([]int64, 9)
	for i := range ds {
		var b bytes.Buffer
		require.NoError(t, fixture.Write(&b, ds[i:i+1], fixture.WriteOptions{}))
		rep := run(t, b.Bytes(), "candidate.yaml", backtest.Options{})
		copies := int64(n / len(ds))
		if i < n%len(ds) {
			copies++
		}
		for j, c := range rep.Matrix {
			out[j] += c.Count * copies
		}
	}
	return out
}

// FuzzRun feeds arbitrary input to the line splitter and parser: no
// panic, and every line is accounted for exactly once.
func FuzzRun(f *testing.F) {
	good := jsonl(f, 3, true)
	f.Add(good)
	f.Add([]byte("x\n\n{}\n"))
	f.Add([]byte(`{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block","features":{"geo":{"lat":"x"}}}}}`))
	f.Add([]byte(`{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"step_up","floored":true,"score":1e308,"features":{}}}}`))
	rs := loadRules(f, "candidate.yaml")
	f.Fuzz(func(t *testing.T, in []byte) {
		rep, err := backtest.Run(context.Background(), bytes.NewReader(in), rs, backtest.Options{MaxLineBytes: 4096, Workers: 2})
		require.NoError(t, err)
		tot := rep.Totals
		require.Equal(t, tot.Lines, tot.Blank+tot.Replayed+tot.Skipped+tot.NoFeatures+tot.Malformed+tot.InvalidFeatures)
		require.Equal(t, int64(len(in)), tot.Bytes)
		var sum int64
		for _, c := range rep.Matrix {
			sum += c.Count
		}
		require.Equal(t, tot.Replayed, sum)
		require.NoError(t, backtest.WriteTable(io.Discard, rep))
		require.NoError(t, backtest.WriteHTML(io.Discard, rep))
		var js bytes.Buffer
		require.NoError(t, backtest.WriteJSON(&js, rep))
		require.True(t, json.Valid(js.Bytes()))
	})
}

// BenchmarkBacktest measures replay throughput (events/s) over the
// fixture's decisions, parsing included.
func BenchmarkBacktest(b *testing.B) {
	const events = 20_000
	in := jsonl(b, events, false)
	rs := loadRules(b, "candidate.yaml")
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for b.Loop() {
		rep, err := backtest.Run(context.Background(), bytes.NewReader(in), rs, backtest.Options{})
		if err != nil || rep.Totals.Replayed != events {
			b.Fatal(err, rep.Totals)
		}
	}
	b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
}

func ExampleRun() {
	s, _ := rules.NewSchema(engine.CounterNames(engine.DefaultCounters()))
	rs, _ := rules.LoadFile("testdata/candidate.yaml", s)
	in := strings.NewReader("not an event\n")
	rep, _ := backtest.Run(context.Background(), in, rs, backtest.Options{})
	fmt.Println(rep.Totals.Lines, rep.Totals.Malformed, rep.Problems[0].Line)
	// Output: 1 1 1
}
