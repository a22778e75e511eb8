// Command riskctl is the analyst and operator CLI: it lints, tests and
// documents rule files against the same counter catalogue the server uses,
// imports breached-password corpora and looks addresses up in the geo
// databases.
//
//	riskctl rules lint [-config FILE] RULES.yaml...
//	riskctl rules test [-config FILE] [-v] RULES.yaml...
//	riskctl alerts tail [-brokers HOSTS] [-json] [-from-beginning] [-n N]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/riskauth/riskauth/engine"
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
  riskctl rules lint [-config FILE] RULES.yaml...   validate rule files
  riskctl rules test [-config FILE] [-v] RULES.yaml... run their inline test cases
  riskctl rules fields [-config FILE]                 every field a rule can read (Markdown)
  riskctl breached import [flags] FILE|DIR|-          build a breached-password corpus from
                                                      Have I Been Pwned's SHA-1 download
  riskctl geo lookup [-config FILE] [-databases] IP... what the geo databases say about addresses
  riskctl alerts tail [flags]                         follow the SOC alerts topic on Kafka
                                                      (-json, -from-beginning, -n N, -brokers)

-config reads the counter catalogue from a riskauthd configuration file
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
	if len(args) < 2 || args[0] != "rules" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[1] {
	case "lint":
		return rulesCmd(args[2:], stdout, stderr, false)
	case "test":
		return rulesCmd(args[2:], stdout, stderr, true)
	case "fields":
		return fieldsCmd(args[2:], stdout, stderr)
	}
	fmt.Fprint(stderr, usage)
	return 2
}

func rulesCmd(args []string, stdout, stderr io.Writer, test bool) int {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("RISKAUTH_CONFIG"), "riskauthd configuration file (for the counter catalogue)")
	verbose := fs.Bool("v", false, "list passing cases too")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	schema, err := loadSchema(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	code := 0
	for _, path := range fs.Args() {
		rs, err := rules.LoadFile(path, schema)
		if err != nil {
			var es rules.Errors
			if errors.As(err, &es) {
				for _, e := range es {
					fmt.Fprintln(stdout, e)
				}
				fmt.Fprintf(stdout, "%s: %d problem(s)\n", path, len(es))
			} else {
				fmt.Fprintln(stdout, err)
			}
			code = 1
			continue
		}
		if !test {
			fmt.Fprintf(stdout, "%s: ok, %d rules, version %s\n", path, len(rs.Rules), rs.Version)
			continue
		}
		passed, failed := 0, 0
		for _, c := range rs.RunCases() {
			name := c.Name
			if c.Rule != "" && !strings.HasPrefix(c.Name, c.Rule) {
				name = c.Rule + ": " + c.Name
			}
			if c.Passed {
				passed++
				if *verbose {
					fmt.Fprintf(stdout, "PASS %s\n", name)
				}
				continue
			}
			failed++
			fmt.Fprintf(stdout, "FAIL %s\n", name)
			for _, d := range c.Diff {
				fmt.Fprintf(stdout, "     %s\n", d)
			}
		}
		fmt.Fprintf(stdout, "%s: %d passed, %d failed\n", path, passed, failed)
		if failed > 0 {
			code = 1
		}
	}
	return code
}

func loadSchema(cfgPath string) (*rules.Schema, error) {
	counters := engine.DefaultCounters()
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath, func(string) string { return "" })
		if err != nil {
			return nil, err
		}
		counters = cfg.Velocity.Counters
	}
	s, err := rules.NewSchema(engine.CounterNames(counters))
	if err != nil {
		return nil, err
	}
	s.DescribeCounters(engine.CounterDocs(counters))
	return s, nil
}

// producers names the signal behind each namespace, for the catalogue.
var producers = map[string]string{
	"event":    "the event itself",
	"user":     "user risk profile (velocity store)",
	"device":   "signals/device + profile",
	"geo":      "signals/geo",
	"breached": "signals/breached",
	"velocity": "signals/velocity",
	"attr":     "the caller's attributes",
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
			fmt.Fprintf(&b, "\n## %s\n\nProduced by: %s.\n\n| field | type | meaning |\n|---|---|---|\n", ns, producers[ns])
		}
		path := f.Path
		if f.Type == "map" {
			path += ".<key>"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", path, f.Type, f.Doc)
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
