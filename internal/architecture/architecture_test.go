package architecture

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated diagram in docs/architecture.md")

const module = "github.com/riskauth/riskauth"

// layer is a group of packages and the layers it may import. A package
// belongs to the layer with the longest matching pattern; "x/..." matches
// x and everything under it. Imports inside one layer are always allowed.
type layer struct {
	name string
	pkgs []string
	may  []string
	// why is shown in the diagram's legend.
	why string
}

// layers is the architecture: the only allowed arrows between riskauth's
// packages (non-test imports; tests may import what they need). Lower
// layers first. docs/architecture.md renders this table (go test -update).
var layers = []layer{
	{name: "vocabulary", pkgs: []string{"engine/risk", "engine/clock"},
		why: "features, decisions, severity, evidence, the clock: what every layer shares"},
	{name: "leaf", pkgs: []string{"internal/leaf/..."},
		why: "small helpers (atomic files, JSON writing, sharded metrics, test servers)"},
	{name: "familiarity", pkgs: []string{"engine/familiarity"},
		why: "the login-history model the engine runs"},
	{name: "security events", pkgs: []string{"authn/secevent"}, may: []string{"vocabulary"},
		why: "the account security events authn emits and alerts map to OCSF"},
	{name: "rules", pkgs: []string{"rules"}, may: []string{"vocabulary", "leaf"},
		why: "rule schema, compiler, evaluation, lint, hot-reloaded source"},
	{name: "engine", pkgs: []string{"engine"}, may: []string{"vocabulary", "leaf", "familiarity", "rules"},
		why: "the evaluation pipeline; declares Signal, StateStore, DecisionSink"},
	{name: "scenario", pkgs: []string{"engine/scenario"}, may: []string{"engine", "vocabulary"},
		why: "scenario files replayed against an engine on a virtual clock"},
	{name: "signals", pkgs: []string{"signals/..."}, may: []string{"engine", "vocabulary", "familiarity", "leaf"},
		why: "geo, device, velocity and profile state, breached passwords"},
	{name: "standard", pkgs: []string{"signals/standard/..."},
		may: []string{"signals", "engine", "rules", "familiarity", "vocabulary", "leaf"},
		why: "assembles the production engine from a config (public)"},
	{name: "alerts", pkgs: []string{"engine/alert/..."}, may: []string{"engine", "vocabulary", "leaf", "security events"},
		why: "OCSF encoding, Kafka sink, disk spool"},
	{name: "authn", pkgs: []string{"authn/..."}, may: []string{"engine", "vocabulary", "leaf", "security events"},
		why: "sign-in, registration, sessions, factors, mail, stores"},
	{name: "rule tools", pkgs: []string{"rules/backtest/..."},
		may: []string{"rules", "alerts", "engine", "scenario", "signals", "standard", "vocabulary", "leaf"},
		why: "backtest of recorded decisions against a rule file"},
	{name: "http", pkgs: []string{"internal/httpapi/..."},
		may: []string{"authn", "engine", "rules", "signals", "vocabulary", "leaf"},
		why: "the HTTP surface: risk, sign-in, account, admin, pages"},
	{name: "wiring", pkgs: []string{"internal/config", "internal/daemon", "internal/tracing"},
		may: []string{"http", "authn", "security events", "alerts", "standard", "signals", "engine", "rules", "familiarity", "vocabulary", "leaf"},
		why: "configuration and the assembly of the whole daemon"},
	{name: "tests", pkgs: []string{"internal/architecture"},
		why: "this test"},
	{name: "examples", pkgs: []string{"examples/..."},
		why: "programs an outside application would write (a relying party), against riskauth's public protocols only"},
	{name: "commands", pkgs: []string{"cmd/..."},
		may: []string{"wiring", "http", "authn", "security events", "alerts", "rule tools", "standard", "signals", "scenario", "engine", "rules", "familiarity", "vocabulary", "leaf"},
		why: "riskauthd, riskctl, risksim and the load generators; nothing imports them"},
}

// pending are arrows that break the layering today and are on their way
// out; the test fails when one is no longer needed, so the list only
// shrinks.
var pending = map[string]string{}

func match(pattern, pkg string) bool {
	if p, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == p || strings.HasPrefix(pkg, p+"/")
	}
	return pkg == pattern
}

// layerOf returns the layer of pkg (relative to the module): the one with
// the longest matching pattern.
func layerOf(pkg string) (*layer, bool) {
	var best *layer
	bestLen := -1
	for i := range layers {
		for _, p := range layers[i].pkgs {
			if match(p, pkg) && len(p) > bestLen {
				best, bestLen = &layers[i], len(p)
			}
		}
	}
	return best, best != nil
}

// imports lists every package of the module with its non-test imports
// inside the module, relative to the module path.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"/...")
	cmd.Dir = moduleRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg := rel(f[0])
		graph[pkg] = nil
		for _, imp := range f[1:] {
			if r := rel(imp); r != imp {
				graph[pkg] = append(graph[pkg], r)
			}
		}
	}
	return graph
}

func rel(path string) string {
	if r, ok := strings.CutPrefix(path, module+"/"); ok {
		return r
	}
	return path
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return dir
}

// TestLayering checks every import of every package against the layers.
func TestLayering(t *testing.T) {
	t.Parallel()
	graph := imports(t)
	if len(graph) < 20 {
		t.Fatalf("go list found only %d packages", len(graph))
	}
	usedPending := map[string]bool{}
	pkgs := make([]string, 0, len(graph))
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	for _, pkg := range pkgs {
		from, ok := layerOf(pkg)
		if !ok {
			t.Errorf("%s belongs to no layer: add it to internal/architecture's table", pkg)
			continue
		}
		for _, imp := range graph[pkg] {
			to, ok := layerOf(imp)
			if !ok || to == from || slices.Contains(from.may, to.name) {
				continue
			}
			arrow := pkg + " -> " + imp
			if _, ok := pending[arrow]; ok {
				usedPending[arrow] = true
				continue
			}
			t.Errorf("%s: layer %q may not import layer %q", arrow, from.name, to.name)
		}
	}
	for arrow := range pending {
		if !usedPending[arrow] {
			t.Errorf("pending exception %q is no longer needed: remove it", arrow)
		}
	}
}

// TestLayersWellFormed checks the table itself: every name an arrow names
// exists, and no layer may import a layer above it (the graph is acyclic
// in table order).
func TestLayersWellFormed(t *testing.T) {
	t.Parallel()
	pos := map[string]int{}
	for i, l := range layers {
		pos[l.name] = i
	}
	for i, l := range layers {
		for _, m := range l.may {
			j, ok := pos[m]
			switch {
			case !ok:
				t.Errorf("layer %q may import unknown layer %q", l.name, m)
			case j > i:
				t.Errorf("layer %q may import %q, which comes after it in the table", l.name, m)
			}
		}
	}
}

const (
	beginMark = "<!-- BEGIN layers: generated by go test ./internal/architecture -update; do not edit -->"
	endMark   = "<!-- END layers -->"
)

// diagram renders the layer table as a Mermaid flowchart and a legend.
func diagram() string {
	id := func(name string) string { return strings.ReplaceAll(name, " ", "_") }
	var b strings.Builder
	b.WriteString("```mermaid\nflowchart BT\n")
	for _, l := range layers {
		fmt.Fprintf(&b, "  %s[\"%s<br/><small>%s</small>\"]\n", id(l.name), l.name, strings.Join(l.pkgs, " "))
	}
	for _, l := range layers {
		for _, m := range l.may {
			fmt.Fprintf(&b, "  %s --> %s\n", id(l.name), id(m))
		}
	}
	b.WriteString("```\n\n| layer | packages | may import | what it is |\n|---|---|---|---|\n")
	for _, l := range layers {
		may := strings.Join(l.may, ", ")
		if may == "" {
			may = "nothing of riskauth's"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", l.name, strings.Join(l.pkgs, "`, `"), may, l.why)
	}
	return b.String()
}

// TestDiagramCurrent keeps docs/architecture.md's diagram in step with
// the table; -update rewrites it.
func TestDiagramCurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(moduleRoot(t), "docs", "architecture.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(doc), beginMark)
	_, after, ok2 := strings.Cut(rest, endMark)
	if !ok1 || !ok2 {
		t.Fatalf("%s: markers %q and %q not found", path, beginMark, endMark)
	}
	want := before + beginMark + "\n" + diagram() + endMark + after
	if want == string(doc) {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the layer diagram is stale; run go test ./internal/architecture -update", path)
}

// listedInReadme reports whether pkg must appear in README's Layout
// list: everything but private helpers below a package (x/internal/...),
// which their parent's entry covers.
func listedInReadme(pkg string) bool {
	return !strings.Contains(pkg, "/internal/")
}

// TestReadmeLayout keeps README's Layout list in step with the tree:
// every listed path is a package, and every package is listed.
func TestReadmeLayout(t *testing.T) {
	t.Parallel()
	graph := imports(t)
	readme, err := os.ReadFile(filepath.Join(moduleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no Layout section")
	}
	_, block, ok1 := strings.Cut(rest, "```\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok1 || !ok2 {
		t.Fatal("README.md's Layout section has no code block")
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(block, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] == "testdata" {
			continue
		}
		listed[f[0]] = true
		if _, ok := graph[f[0]]; !ok {
			t.Errorf("README's Layout lists %s, which is not a package", f[0])
		}
	}
	for pkg := range graph {
		if listedInReadme(pkg) && !listed[pkg] {
			t.Errorf("README's Layout does not list %s", pkg)
		}
	}
}
