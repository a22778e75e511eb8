// Command riskctl is the analyst and operator CLI: it lints, tests and
// documents rule files against the same counter catalogue the server uses,
// imports breached-password corpora and looks addresses up in the geo
// databases.
//
//	riskctl rules lint [-config FILE] [-scenarios DIR] [-strict] RULES.yaml...
//	riskctl rules test [-config FILE] [-v] [-scenarios DIR_OR_FILE]... [-junit FILE] [-run REGEXP] RULES.yaml...
//	riskctl rules explain [-config FILE] [-rules FILE] [-format text|json] [EVENT|-]
//	riskctl alerts tail [-brokers HOSTS] [-json] [-from-beginning] [-n N]
//	riskctl users search|show|export|disable|enable|unlock|reset-mfa|revoke|... (users.go)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/scenario"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/rules"
	"github.com/riskauth/riskauth/signals/breached/importcli"
	"github.com/riskauth/riskauth/signals/geo"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `riskctl — riskauth analyst and operator CLI

usage:
  riskctl rules lint [-config FILE] [-scenarios DIR] [-strict] RULES.yaml...
                                                      validate rule files: errors, warnings
                                                      (thresholds, overlaps; with -scenarios,
                                                      rules that never or always match)
  riskctl rules test [-config FILE] [-v] [-scenarios DIR_OR_FILE]... [-junit FILE]
                     [-run REGEXP] RULES.yaml...      run inline cases and replay scenarios
  riskctl rules explain [-config FILE] [-rules FILE] [-format text|json] [EVENT|-]
                                                      why an event (API body) or a recorded
                                                      decision event gets its decision
  riskctl rules fields [-config FILE]                 every field a rule can read (Markdown)
  riskctl rules backtest --rules FILE --events FILE|- [-html FILE] replay recorded decisions
  riskctl breached import [flags] FILE|DIR|-          build a breached-password corpus from
                                                      Have I Been Pwned's SHA-1 download
  riskctl geo lookup [-config FILE] [-databases] IP... what the geo databases say about addresses
  riskctl alerts tail [flags]                         follow the SOC alerts topic on Kafka
                                                      (-json, -from-beginning, -n N, -brokers)
  riskctl users search|show|export|ACTION [flags]     user administration over the admin API
                                                      (RISKAUTH_URL, RISKAUTH_ADMIN_KEY; riskctl
                                                      users for the list)

-config reads the counter catalogue (and, for the commands that build an
engine, the geo databases) from a riskauthd configuration file
(default: the built-in catalogue, or RISKAUTH_CONFIG when set).
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) >= 2 && args[0] == "breached" && args[1] == "import" {
		return importcli.ImportCommand(args[2:], os.Stdin, stdout, stderr)
	}
	if len(args) >= 2 && args[0] == "geo" && args[1] == "lookup" {
		return geoLookup(args[2:], stdout, stderr)
	}
	if len(args) >= 2 && args[0] == "alerts" && args[1] == "tail" {
		return alertsTail(args[2:], stdout, stderr)
	}
	if len(args) >= 1 && args[0] == "users" {
		return usersCmd(args[1:], os.Getenv, stdout, stderr)
	}
	if len(args) < 2 || args[0] != "rules" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[1] {
	case "lint":
		return lintCmd(args[2:], stdout, stderr)
	case "test":
		return testCmd(args[2:], stdout, stderr)
	case "explain":
		return explainCmd(args[2:], os.Stdin, stdout, stderr)
	case "fields":
		return fieldsCmd(args[2:], stdout, stderr)
	case "backtest":
		return backtestCmd(args[2:], stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// lintCmd is `riskctl rules lint`: every load error, then warnings
// (thresholds, overlapping rules and, with -scenarios, rules that never or
// always match over the corpus and the inline cases). Errors fail; warnings
// fail only with -strict.
func lintCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("RISKAUTH_CONFIG"), "riskauthd configuration file (for the counter catalogue)")
	var scen listFlag
	fs.Var(&scen, "scenarios", "scenario file or directory to replay for rule coverage (repeatable)")
	strict := fs.Bool("strict", false, "exit 1 on warnings too")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(files) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
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
	for _, path := range files {
		rs, err := rules.LoadFile(path, schema)
		if err != nil {
			printLoadError(stdout, path, err)
			code = 1
			continue
		}
		var cov *rules.Coverage
		if len(scenFiles) > 0 {
			cov = rules.NewCoverage(rs)
			cov.AddCases(rs)
			for _, sf := range scenFiles {
				_, err := replayScenario(sf, cfg, schema, path, func(o scenario.Observation) {
					ids := make([]string, 0, len(o.Decision.Reasons)+len(o.Decision.Shadow))
					for _, r := range o.Decision.Reasons {
						ids = append(ids, r.Rule)
					}
					for _, r := range o.Decision.Shadow {
						ids = append(ids, r.Rule)
					}
					cov.Observe(ids)
				})
				if err != nil {
					fmt.Fprintln(stdout, err)
					code = 1
				}
			}
		}
		ws := rs.Lint(cov)
		for _, w := range ws {
			fmt.Fprintln(stdout, w)
		}
		msg := fmt.Sprintf("%s: ok, %d rules, version %s", path, len(rs.Rules), rs.Version)
		if len(ws) > 0 {
			msg += fmt.Sprintf(", %d warning(s)", len(ws))
			if *strict {
				code = 1
			}
		}
		fmt.Fprintln(stdout, msg)
	}
	return code
}

// loadSetup reads the configuration once and builds the rule schema its
// counter catalogue defines (the default catalogue without a file).
func loadSetup(cfgPath string) (*config.Config, *rules.Schema, error) {
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	counters := cfg.Velocity.Counters
	s, err := rules.NewSchema(engine.CounterNames(counters))
	if err != nil {
		return nil, nil, err
	}
	s.DescribeCounters(engine.CounterDocs(counters))
	return cfg, s, nil
}

// loadSchema is loadSetup for commands that need only the schema.
func loadSchema(cfgPath string) (*rules.Schema, error) {
	_, s, err := loadSetup(cfgPath)
	return s, err
}

// producers names the signal behind each namespace, for the catalogue.
var producers = map[string]string{
	"event":       "the event itself",
	"user":        "user risk profile (velocity store)",
	"device":      "signals/device + profile",
	"geo":         "signals/geo",
	"breached":    "signals/breached",
	"velocity":    "signals/velocity",
	"familiarity": "engine/familiarity, scored by the engine on the profile's history",
	"authn":       "authn, the factor of the sign-in step (empty for risk API events)",
	"passkey":     "authn/passkey, a verified passkey assertion",
	"attr":        "the caller's attributes",
}

func fieldsCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fields", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("RISKAUTH_CONFIG"), "riskauthd configuration file (for the counter catalogue)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	schema, err := loadSchema(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	fmt.Fprint(stdout, fieldsMarkdown(schema))
	return 0
}

// fieldsMarkdown renders the field catalogue; docs/rule-fields.md is this
// output for the default counters, checked by a test so it cannot drift.
func fieldsMarkdown(s *rules.Schema) string {
	var b strings.Builder
	b.WriteString("# Rule fields\n\n")
	b.WriteString("Every field a rule's `when` can read, generated by `riskctl rules fields` from the\n")
	b.WriteString("typed environment rules compile against (velocity counters from the default\n")
	b.WriteString("catalogue; a custom catalogue changes the `velocity.*` rows). Do not edit by hand.\n")
	ns := ""
	for _, f := range s.Fields() {
		name, _, _ := strings.Cut(f.Path, ".")
		if name != ns {
			ns = name
			fmt.Fprintf(&b, "\n## %s\n\nProduced by: %s.\n\n| field | type | meaning | example |\n|---|---|---|---|\n", ns, producers[ns])
		}
		path := f.Path
		if f.Type == "map" {
			path += ".<key>"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | `%s` |\n", path, f.Type, f.Doc, f.Example)
	}
	return b.String()
}

// geoLookup prints, as JSON lines, what the configured geo databases (or
// the bundled fixture) say about each address.
func geoLookup(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("geo lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("RISKAUTH_CONFIG"), "riskauthd configuration file (for the geo databases)")
	dbs := fs.Bool("databases", false, "print the loaded databases first")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 && !*dbs {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cfg, err := config.Load(*cfgPath, os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	g, err := geo.Open(cfg.Geo, nil, nil, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer g.Close()
	enc := json.NewEncoder(stdout)
	if *dbs {
		for _, st := range g.Status() {
			_ = enc.Encode(st)
		}
	}
	code := 0
	for _, a := range fs.Args() {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			fmt.Fprintf(stderr, "%s: not an IP address\n", a)
			code = 1
			continue
		}
		rec, err := g.Lookup(ip)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", a, err)
			code = 1
			continue
		}
		_ = enc.Encode(rec)
	}
	return code
}
