package main

import (
	"context"
	"encoding/xml"
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
	"github.com/riskauth/riskauth/engine/clock"
	"github.com/riskauth/riskauth/engine/scenario"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/standard"
)

// harnessDeviceKey derives device ids in riskctl's throw-away engines. It
// is fixed so that replays and explanations print the same ids every run;
// nothing it derives is ever compared with a real deployment's ids.
const harnessDeviceKey = "riskctl-harness-device-key-32byt"

// harnessDeadline replaces the configured signal deadline in riskctl's
// engines: a replay must give the same answer on a loaded CI machine, and a
// signal marked late there would floor decisions the rules did not make.
const harnessDeadline = 10 * time.Second

// harness is the standard engine (signals/standard, as riskauthd builds
// it) on a virtual clock with fresh in-memory state: in-memory velocity
// and profiles, the real device identifier, the bundled or configured geo
// databases, the embedded breached list. It is what `rules test` replays
// scenarios through and what `rules explain` evaluates an event with.
type harness struct {
	engine *engine.Engine
	clock  *clock.Manual
	source *rules.Source
	std    *standard.Assembly
}

// harnessConfig says how to build a harness.
type harnessConfig struct {
	// Config is the riskauthd configuration (counters, geo databases,
	// engine settings).
	Config *config.Config
	// Schema was built from Config's counters.
	Schema *rules.Schema
	// RulesFile is the rule file; empty means the embedded default.
	RulesFile string
	// Signals names the optional signals to attach ("geo", "breached");
	// nil attaches all of them, as riskauthd does.
	Signals []string
	Start   time.Time
}

func newHarness(hc harnessConfig) (*harness, error) {
	h := &harness{clock: clock.NewManual(hc.Start)}
	// Only what a rule test may depend on is taken from the
	// configuration: no data dir (nothing written, no history loaded),
	// no shadow file, and of the breach chain only the embedded list (a
	// replay neither opens the operator's corpus nor calls the range
	// API). The engine settings are the configured ones, with deadlines
	// that a loaded machine cannot miss.
	cfg := standard.Config{
		Rules:    standard.RulesConfig{File: hc.RulesFile},
		Engine:   hc.Config.Engine,
		Velocity: standard.VelocityConfig{Counters: hc.Config.Velocity.Counters},
		Device:   standard.DeviceConfig{Secret: harnessDeviceKey},
		Breached: standard.BreachedConfig{CaseSensitive: hc.Config.Breached.CaseSensitive},
		Geo:      hc.Config.Geo,
	}
	cfg.Engine.Deadline, cfg.Engine.StateBudget, cfg.Engine.SignalBudgets = harnessDeadline, harnessDeadline, nil
	opts := []standard.Option{standard.WithClock(h.clock), standard.WithSchema(hc.Schema)}
	if hc.Signals != nil {
		opts = append(opts, standard.WithSignals(hc.Signals...))
	}
	std, err := standard.New(cfg, opts...)
	if err != nil {
		return nil, err
	}
	h.std, h.engine, h.source = std, std.Engine, std.Rules
	return h, nil
}

// Close releases what the harness opened.
func (h *harness) Close() { _ = h.std.Close() }

// loadConfig reads the riskauthd configuration riskctl works with. The
// environment is not consulted (beyond -config's default): a rule test must
// not depend on who runs it.
func loadConfig(path string) (*config.Config, error) {
	return config.Load(path, func(string) string { return "" })
}

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
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

// replayScenario replays one scenario file through a fresh harness built
// with the rule file; observe sees every decision.
func replayScenario(path string, cfg *config.Config, schema *rules.Schema, rulesFile string, observe func(scenario.Observation)) (*scenario.Report, error) {
	s, err := scenario.Load(path)
	if err != nil {
		return nil, err
	}
	signals := s.Signals
	if signals == nil {
		signals = []string{} // only what the scenario asks for, as the engine's scenario tests do
	}
	h, err := newHarness(harnessConfig{Config: cfg, Schema: schema, RulesFile: rulesFile, Signals: signals, Start: s.Start})
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	defer h.Close()
	rep, err := scenario.Replay(context.Background(), s, h.engine, h.clock, observe)
	if err != nil {
		return rep, fmt.Errorf("scenario %s: %w", path, err)
	}
	return rep, nil
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

// JUnit XML, in the shape CI systems (Jenkins, GitLab, GitHub reporters)
// read: one suite per file, one testcase per case or step expectation.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Error     *junitError   `xml:"error,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

type junitError struct {
	Message string `xml:"message,attr"`
}

func junitReport(suites []testSuite) ([]byte, error) {
	out := junitSuites{Name: "riskctl rules test"}
	for _, s := range suites {
		js := junitSuite{Name: s.Name, Tests: len(s.Cases), Failures: s.failed()}
		if s.Error != "" {
			// A file that could not run is one erroring testcase, which
			// is where JUnit readers look for errors.
			js.Tests++
			js.Errors = 1
			js.Cases = append(js.Cases, junitCase{Name: "run", Classname: s.Name, Error: &junitError{Message: s.Error}})
		}
		for _, c := range s.Cases {
			jc := junitCase{Name: c.Name, Classname: s.Name}
			if c.Failed {
				msg := c.Name
				if len(c.Detail) > 0 {
					msg = strings.TrimSpace(c.Detail[0])
					for _, d := range c.Detail {
						// The first difference that is not context is the headline.
						if t := strings.TrimSpace(d); !strings.HasPrefix(t, "repetition ") && !strings.HasPrefix(t, "event: ") {
							msg = t
							break
						}
					}
				}
				jc.Failure = &junitFailure{Message: msg, Type: "mismatch", Body: strings.Join(c.Detail, "\n")}
			}
			js.Cases = append(js.Cases, jc)
		}
		out.Tests += js.Tests
		out.Failures += js.Failures
		out.Errors += js.Errors
		out.Suites = append(out.Suites, js)
	}
	b, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("junit: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

func writeJUnit(path string, suites []testSuite) error {
	b, err := junitReport(suites)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	return nil
}

// eventJSON renders an event as the risk-check API body that would send
// it, so a failing step can be replayed with `riskctl rules explain`.
func eventJSON(ev engine.Event) string { return eventJSONReq(requestOf(ev)) }
