package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/scenario"
	"github.com/riskauth/riskauth/rules"
)

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// parseInterleaved parses flags that may come before, between or after the
// positional arguments (riskctl rules test RULES.yaml -junit out.xml).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// scenarioFiles expands -scenarios arguments: a file, a directory holding
// scenario.yaml, or a corpus directory of <case>/scenario.yaml (and *.yaml
// files directly in it).
func scenarioFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("scenarios: %w", err)
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		if _, err := os.Stat(filepath.Join(a, "scenario.yaml")); err == nil {
			out = append(out, filepath.Join(a, "scenario.yaml"))
			continue
		}
		nested, _ := filepath.Glob(filepath.Join(a, "*", "scenario.yaml"))
		flat, _ := filepath.Glob(filepath.Join(a, "*.yaml"))
		found := append(nested, flat...)
		if len(found) == 0 {
			return nil, fmt.Errorf("scenarios: no scenario files in %s", a)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// testCase is one line of the report and one JUnit testcase.
type testCase struct {
	Name   string
	Failed bool
	// Detail is the failure diff, one line per difference.
	Detail []string
}

// testSuite is the outcome of one file: a rule file's inline cases or one
// scenario file.
type testSuite struct {
	Name  string
	Cases []testCase
	// Error is set when the file could not be run at all.
	Error string
	// Events counts evaluations, for scenarios.
	Events int
}

func (s *testSuite) failed() int {
	n := 0
	for _, c := range s.Cases {
		if c.Failed {
			n++
		}
	}
	return n
}

// maxShownRepetitions bounds how many failing repetitions of one
// expectation are printed; the rest are counted.
const maxShownRepetitions = 3

// scenarioSuite turns a replay report into test cases, one per step
// expectation.
func scenarioSuite(name string, rep *scenario.Report) testSuite {
	suite := testSuite{Name: name, Events: rep.Evaluations}
	for _, c := range rep.Checks {
		tc := testCase{Name: fmt.Sprintf("step %d: %s (%s)", c.Step+1, orUnnamed(c.Name), c.Kind)}
		for i, f := range c.Failures {
			tc.Failed = true
			if i == maxShownRepetitions {
				tc.Detail = append(tc.Detail, fmt.Sprintf("... and %d more failing repetitions", len(c.Failures)-i))
				break
			}
			tc.Detail = append(tc.Detail, fmt.Sprintf("repetition %d of %d at %s", f.Repeat, f.Repeats, f.Time.UTC().Format(time.RFC3339)))
			tc.Detail = append(tc.Detail, "  event: "+eventJSON(f.Event))
			for _, d := range f.Diff {
				tc.Detail = append(tc.Detail, "  "+d)
			}
		}
		if c.Checked > 0 && !tc.Failed {
			tc.Detail = nil
		}
		suite.Cases = append(suite.Cases, tc)
	}
	return suite
}

func orUnnamed(s string) string {
	if s == "" {
		return "unnamed"
	}
	return s
}

// casesSuite turns a rule file's inline case results into test cases.
func casesSuite(name string, results []rules.CaseResult, run *regexp.Regexp) testSuite {
	suite := testSuite{Name: name}
	for _, c := range results {
		n := c.Name
		if c.Rule != "" && !strings.HasPrefix(c.Name, c.Rule) {
			n = c.Rule + ": " + c.Name
		}
		if run != nil && !run.MatchString(n) {
			continue
		}
		suite.Cases = append(suite.Cases, testCase{Name: n, Failed: !c.Passed, Detail: c.Diff})
	}
	return suite
}

// testCmd is `riskctl rules test`: inline cases and scenario replays, a
// diff per failure, a summary, optional JUnit XML.
func testCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("RISKAUTH_CONFIG"), "riskauthd configuration file (counters, geo databases)")
	verbose := fs.Bool("v", false, "list passing cases too")
	var scen listFlag
	fs.Var(&scen, "scenarios", "scenario file or directory to replay (repeatable)")
	junit := fs.String("junit", "", "write a JUnit XML report to this file")
	runRe := fs.String("run", "", "only cases, and scenario files, whose name or path matches this regular expression")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var run *regexp.Regexp
	if *runRe != "" {
		if run, err = regexp.Compile(*runRe); err != nil {
			fmt.Fprintf(stderr, "-run: %v\n", err)
			return 2
		}
	}
	cfg, schema, err := loadSetup(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	scenFiles, err := scenarioFiles(scen)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	code := 0
	var suites []testSuite
	for _, path := range files {
		rs, err := rules.LoadFile(path, schema)
		if err != nil {
			printLoadError(stdout, path, err)
			code = 2
			continue
		}
		s := casesSuite(path, rs.RunCases(), run)
		suites = append(suites, s)
		printSuite(stdout, s, *verbose, "")
		for _, sf := range scenFiles {
			if run != nil && !run.MatchString(sf) {
				continue
			}
			name := sf
			if len(files) > 1 {
				name = sf + " [" + path + "]"
			}
			rep, err := replayScenario(sf, cfg, schema, path, nil)
			if err != nil {
				fmt.Fprintf(stdout, "ERROR %s: %v\n", name, err)
				ss := testSuite{Name: name, Error: err.Error()}
				if rep != nil {
					ss = scenarioSuite(name, rep)
					ss.Error = err.Error()
				}
				suites = append(suites, ss)
				code = 2
				continue
			}
			ss := scenarioSuite(name, rep)
			suites = append(suites, ss)
			printSuite(stdout, ss, *verbose, fmt.Sprintf(", %d events", ss.Events))
		}
	}
	passed, failed, errored := 0, 0, 0
	for _, s := range suites {
		f := s.failed()
		failed += f
		passed += len(s.Cases) - f
		if s.Error != "" {
			errored++
		}
	}
	if len(scenFiles) > 0 || len(files) > 1 {
		msg := fmt.Sprintf("total: %d passed, %d failed in %d files", passed, failed, len(suites))
		if errored > 0 {
			msg += fmt.Sprintf(", %d could not run", errored)
		}
		fmt.Fprintln(stdout, msg)
	}
	if failed > 0 && code == 0 {
		code = 1
	}
	if *junit != "" {
		if err := writeJUnit(*junit, suites); err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
	}
	return code
}

func printLoadError(w io.Writer, path string, err error) {
	var es rules.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Fprintln(w, e)
		}
		fmt.Fprintf(w, "%s: %d problem(s)\n", path, len(es))
		return
	}
	fmt.Fprintln(w, err)
}

// printSuite prints failures with their diff (and passes with -v), then
// the file's summary line. Scenario cases are named by step, so their
// lines name the file too.
func printSuite(w io.Writer, s testSuite, verbose bool, extra string) {
	prefix := ""
	if s.Events > 0 {
		prefix = s.Name + ": "
	}
	for _, c := range s.Cases {
		if !c.Failed {
			if verbose {
				fmt.Fprintf(w, "PASS %s%s\n", prefix, c.Name)
			}
			continue
		}
		fmt.Fprintf(w, "FAIL %s%s\n", prefix, c.Name)
		for _, d := range c.Detail {
			fmt.Fprintf(w, "     %s\n", d)
		}
	}
	f := s.failed()
	fmt.Fprintf(w, "%s: %d passed, %d failed%s\n", s.Name, len(s.Cases)-f, f, extra)
}

// eventJSON renders an event as the risk-check API body that would send
// it, so a failing step can be replayed with `riskctl rules explain`.
func eventJSON(ev engine.Event) string { return eventJSONReq(requestOf(ev)) }
