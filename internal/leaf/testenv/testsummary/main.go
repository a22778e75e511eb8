package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	verbose := flag.Bool("v", false, "print every test's output, as go test -v does")
	flag.Parse()
	s := newSummarizer(os.Stdout, *verbose)
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	s.finish()
}

// event is one line of go test -json (cmd/test2json's TestEvent, plus the
// build events of go test -json).
type event struct {
	Action      string
	Package     string
	Test        string
	Output      string
	ImportPath  string
	FailedBuild string
}

// pkgState is what the summarizer holds for one package while it runs.
type pkgState struct {
	held  []string            // lines to print, while another package streams
	tests map[string][]string // output of tests that have not ended
	done  bool
}

// skipKey names a skipped test and its reason, counted over -count runs.
type skipKey struct{ pkg, test, reason string }

type summarizer struct {
	out     io.Writer
	verbose bool

	pkgs  map[string]*pkgState
	order []string // packages started and not yet printed, oldest first

	passed, failed, skipped int
	pkgOK, pkgFail, pkgNone int
	skips                   map[skipKey]int
	fails                   []string
	buildFails              []string
}

func newSummarizer(out io.Writer, verbose bool) *summarizer {
	return &summarizer{out: out, verbose: verbose, pkgs: map[string]*pkgState{}, skips: map[skipKey]int{}}
}

func (s *summarizer) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &ev) != nil || ev.Action == "" {
			fmt.Fprintln(s.out, string(line))
			continue
		}
		s.handle(&ev)
	}
	return sc.Err()
}

func (s *summarizer) pkg(name string) *pkgState {
	p := s.pkgs[name]
	if p == nil {
		p = &pkgState{tests: map[string][]string{}}
		s.pkgs[name] = p
		s.order = append(s.order, name)
	}
	return p
}

// emit prints lines of pkg now if it is the oldest package running, else
// holds them until it is.
func (s *summarizer) emit(name string, lines ...string) {
	if len(s.order) > 0 && s.order[0] == name {
		for _, l := range lines {
			io.WriteString(s.out, l)
		}
		return
	}
	p := s.pkg(name)
	p.held = append(p.held, lines...)
}

// advance prints the packages that have become the oldest, in order.
func (s *summarizer) advance() {
	for len(s.order) > 0 {
		p := s.pkgs[s.order[0]]
		for _, l := range p.held {
			io.WriteString(s.out, l)
		}
		p.held = nil
		if !p.done {
			return
		}
		delete(s.pkgs, s.order[0])
		s.order = s.order[1:]
	}
}

func (s *summarizer) handle(ev *event) {
	switch ev.Action {
	case "build-output":
		io.WriteString(s.out, ev.Output)
		return
	case "build-fail":
		s.buildFails = append(s.buildFails, ev.ImportPath)
		return
	}
	if ev.Package == "" {
		return
	}
	p := s.pkg(ev.Package)
	if ev.Test == "" {
		s.packageEvent(ev, p)
		return
	}
	switch ev.Action {
	case "output":
		if s.verbose {
			s.emit(ev.Package, ev.Output)
		}
		p.tests[ev.Test] = append(p.tests[ev.Test], ev.Output)
	case "pass":
		s.passed++
		delete(p.tests, ev.Test)
	case "skip":
		s.skipped++
		s.skips[skipKey{ev.Package, ev.Test, skipReason(p.tests[ev.Test])}]++
		delete(p.tests, ev.Test)
	case "fail":
		s.failed++
		s.fails = append(s.fails, ev.Package+" "+ev.Test)
		if !s.verbose { // else printed already
			s.emit(ev.Package, testLines(p.tests[ev.Test])...)
		}
		delete(p.tests, ev.Test)
	}
}

func (s *summarizer) packageEvent(ev *event, p *pkgState) {
	switch ev.Action {
	case "output":
		if !s.verbose && ev.Output == "PASS\n" {
			return // go test prints only "ok" for a passing package
		}
		s.emit(ev.Package, ev.Output)
	case "pass", "fail", "skip":
		switch {
		case ev.Action == "pass":
			s.pkgOK++
		case ev.Action == "skip":
			s.pkgNone++
		default:
			s.pkgFail++
		}
		if ev.Action == "fail" && !s.verbose {
			// Tests still running when the binary died (a panic
			// elsewhere, the -timeout): their output explains it.
			names := make([]string, 0, len(p.tests))
			for name := range p.tests {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				s.emit(ev.Package, testLines(p.tests[name])...)
			}
		}
		p.tests = map[string][]string{}
		p.done = true
		s.advance()
	}
}

// testLines drops the framing lines of -json's implied -v from a test's
// output, which go test without -v does not print.
func testLines(out []string) []string {
	var lines []string
	for _, l := range out {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "=== RUN") || strings.HasPrefix(t, "=== PAUSE") ||
			strings.HasPrefix(t, "=== CONT") || strings.HasPrefix(t, "=== NAME") {
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// skipReason is the last line a skipped test printed before its
// "--- SKIP" line: t.Skip's message, with its file:line.
func skipReason(out []string) string {
	lines := testLines(out)
	for i := len(lines) - 1; i >= 0; i-- {
		t := strings.TrimSpace(lines[i])
		if t == "" || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		return t
	}
	return "(no reason given)"
}

// finish prints what is still held (an interrupted run) and the summary.
func (s *summarizer) finish() {
	for _, name := range s.order {
		s.pkgs[name].done = true
	}
	s.advance()
	w := s.out
	fmt.Fprintf(w, "\nsummary: %d tests passed, %d failed, %d skipped; %d packages ok, %d failed, %d without tests\n",
		s.passed, s.failed, s.skipped, s.pkgOK, s.pkgFail, s.pkgNone)
	if len(s.skips) > 0 {
		keys := make([]skipKey, 0, len(s.skips))
		for k := range s.skips {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, b := keys[i], keys[j]
			if a.pkg != b.pkg {
				return a.pkg < b.pkg
			}
			return a.test < b.test
		})
		fmt.Fprintf(w, "skipped tests (%d), and why:\n", s.skipped)
		for _, k := range keys {
			times := ""
			if n := s.skips[k]; n > 1 {
				times = fmt.Sprintf(" (%d times)", n)
			}
			fmt.Fprintf(w, "  SKIP %s %s%s: %s\n", k.pkg, k.test, times, k.reason)
		}
	}
	if len(s.buildFails)+len(s.fails) > 0 {
		fmt.Fprintf(w, "failed (%d tests, %d builds):\n", len(s.fails), len(s.buildFails))
	}
	for _, b := range s.buildFails {
		fmt.Fprintf(w, "  BUILD FAILED %s\n", b)
	}
	for _, f := range s.fails {
		fmt.Fprintf(w, "  FAIL %s\n", f)
	}
}
