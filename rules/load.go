package rules

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/riskauth/riskauth/engine/risk"
	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds a rule file; anything larger is refused before parsing.
const MaxFileSize = 4 << 20

// fileSpec is the YAML shape of a rule file, decoded strictly. It is kept
// apart from RuleSet so that what analysts write and what the engine runs
// can evolve separately.
type fileSpec struct {
	Version     int            `yaml:"version"`
	Description string         `yaml:"description"`
	Thresholds  thresholdSpec  `yaml:"thresholds"`
	Rules       []ruleSpec     `yaml:"rules"`
	Tests       []fileCaseSpec `yaml:"tests"`
	// Lists name value files (one value per line) that rules read with
	// in_list("name", value); paths are relative to the rule file.
	Lists map[string]string `yaml:"lists"`
}

type thresholdSpec struct {
	StepUp *float64 `yaml:"step_up"`
	Block  *float64 `yaml:"block"`
}

type ruleSpec struct {
	ID          yaml.Node `yaml:"id"`
	Description string    `yaml:"description"`
	When        yaml.Node `yaml:"when"`
	Score       float64   `yaml:"score"`
	Action      string    `yaml:"action"`
	Alert       string    `yaml:"alert"`
	Mode        string    `yaml:"mode"`
	Tags        []string  `yaml:"tags"`
	// Evidence names extra fields reported when the rule matches, besides
	// those its condition reads (for example both places of a travel rule).
	Evidence []string       `yaml:"evidence"`
	Tests    []ruleCaseSpec `yaml:"tests"`
}

type ruleCaseSpec struct {
	Name  string         `yaml:"name"`
	Given map[string]any `yaml:"given"`
	Match *bool          `yaml:"match"`
}

type fileCaseSpec struct {
	Name     string         `yaml:"name"`
	Given    map[string]any `yaml:"given"`
	Decision string         `yaml:"decision"`
	Rules    *[]string      `yaml:"rules"`
	Line     int            `yaml:"-"`
}

// Error is one problem in a rule file, with its position.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a rule file; a file with any error is
// never used.
type Errors []Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// ErrInvalid is matched by errors.Is for every Errors value.
var ErrInvalid = errors.New("invalid rule file")

// Is makes errors.Is(err, ErrInvalid) true for rule file errors.
func (es Errors) Is(target error) bool { return target == ErrInvalid }

// LoadFile reads and compiles a rule file.
func LoadFile(path string, schema *Schema, opts ...Option) (*RuleSet, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load rules %s: %w", path, err)
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("load rules %s: file is %d bytes, the limit is %d", path, fi.Size(), MaxFileSize)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load rules %s: %w", path, err)
	}
	return Compile(path, src, schema, append([]Option{WithBaseDir(filepath.Dir(path))}, opts...)...)
}

var ruleIDRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

var (
	lineRe    = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownRe = regexp.MustCompile(`^field (\S+) not found in type rules\.(\w+)$`)
	specNames = map[string]string{
		"fileSpec": "the rule file", "thresholdSpec": "thresholds", "ruleSpec": "a rule",
		"ruleCaseSpec": "a rule's test case", "fileCaseSpec": "a test case",
	}
)

// yamlMessage rewrites the YAML decoder's wording into the analyst's.
func yamlMessage(m string) string {
	if sm := unknownRe.FindStringSubmatch(m); sm != nil {
		return fmt.Sprintf("unknown key %q in %s", sm[1], specNames[sm[2]])
	}
	return m
}

// Compile parses and compiles a rule file's content. name is used in error
// positions. Every problem is reported, as Errors, in one pass.
func Compile(name string, src []byte, schema *Schema, opts ...Option) (*RuleSet, error) {
	if len(src) > MaxFileSize {
		return nil, Errors{{File: name, Msg: fmt.Sprintf("file is %d bytes, the limit is %d", len(src), MaxFileSize)}}
	}
	var cfg options
	for _, o := range opts {
		o(&cfg)
	}
	var spec fileSpec
	var errs Errors
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&spec); err != nil {
		var te *yaml.TypeError
		switch {
		case errors.As(err, &te):
			for _, m := range te.Errors {
				e := Error{File: name, Msg: m}
				if sm := lineRe.FindStringSubmatch(m); sm != nil {
					fmt.Sscan(sm[1], &e.Line)
					e.Msg = yamlMessage(sm[2])
				}
				errs = append(errs, e)
			}
		case err.Error() == "EOF":
			return nil, Errors{{File: name, Msg: "empty rule file"}}
		default:
			e := Error{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
			if sm := lineRe.FindStringSubmatch(e.Msg); sm != nil {
				fmt.Sscan(sm[1], &e.Line)
				e.Msg = sm[2]
			}
			return nil, Errors{e}
		}
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		errs = append(errs, Error{File: name, Line: extra.Line, Msg: "more than one YAML document; a rule file is one document"})
	}

	// The version covers the lists too: changing a list is a new version.
	h := sha256.New()
	h.Write(src)
	listErrs := cfg.loadLists(name, spec.Lists, h)
	errs = append(errs, listErrs...)
	sum := h.Sum(nil)
	rs := &RuleSet{
		Name:        name,
		Version:     hex.EncodeToString(sum[:8]),
		Description: spec.Description,
		schema:      schema,
		source:      src,
		helpers:     cfg.helpers(),
	}
	if spec.Version != 1 {
		errs = append(errs, Error{File: name, Line: 1, Msg: fmt.Sprintf("version %d: want version: 1", spec.Version)})
	}
	switch {
	case spec.Thresholds.StepUp == nil || spec.Thresholds.Block == nil:
		errs = append(errs, Error{File: name, Msg: "thresholds: step_up and block are both required"})
	default:
		rs.Thresholds = Thresholds{StepUp: *spec.Thresholds.StepUp, Block: *spec.Thresholds.Block}
		if rs.Thresholds.StepUp <= 0 || rs.Thresholds.Block < rs.Thresholds.StepUp {
			errs = append(errs, Error{File: name, Msg: fmt.Sprintf("thresholds: want 0 < step_up (%g) <= block (%g)", rs.Thresholds.StepUp, rs.Thresholds.Block)})
		}
	}
	if len(spec.Rules) == 0 && len(errs) == 0 {
		errs = append(errs, Error{File: name, Msg: "no rules"})
	}

	seen := map[string]int{}
	for i := range spec.Rules {
		r, rerrs := compileRule(name, src, &spec.Rules[i], schema, &cfg)
		errs = append(errs, rerrs...)
		if r == nil {
			continue
		}
		if prev, dup := seen[r.ID]; dup {
			errs = append(errs, Error{File: name, Line: r.Line, Col: r.Col, Msg: fmt.Sprintf("rule id %q already used on line %d", r.ID, prev)})
			continue
		}
		seen[r.ID] = r.Line
		r.index = len(rs.Rules)
		rs.Rules = append(rs.Rules, r)
	}
	for _, c := range spec.Tests {
		tc := FileCase{Name: c.Name, Given: c.Given}
		if c.Decision != "" {
			a, err := risk.ParseAction(c.Decision)
			if err != nil {
				errs = append(errs, Error{File: name, Msg: fmt.Sprintf("test %q: %v", c.Name, err)})
			}
			tc.Decision = &a
		}
		if c.Rules != nil {
			tc.Rules = *c.Rules
			tc.CheckRules = true
			for _, id := range tc.Rules {
				if _, ok := seen[id]; !ok {
					errs = append(errs, Error{File: name, Msg: fmt.Sprintf("test %q: expects unknown rule %q", c.Name, id)})
				}
			}
		}
		if tc.Decision == nil && !tc.CheckRules {
			errs = append(errs, Error{File: name, Msg: fmt.Sprintf("test %q: expect a decision, rules, or both", c.Name)})
		}
		if _, err := schema.FeaturesFromMap(c.Given); err != nil {
			errs = append(errs, Error{File: name, Msg: fmt.Sprintf("test %q: given: %v", c.Name, err)})
		}
		rs.Cases = append(rs.Cases, tc)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return rs, nil
}

func compileRule(file string, src []byte, s *ruleSpec, schema *Schema, cfg *options) (*Rule, Errors) {
	var errs Errors
	r := &Rule{
		ID:          s.ID.Value,
		Description: strings.TrimSpace(s.Description),
		When:        strings.TrimSpace(s.When.Value),
		Score:       s.Score,
		Tags:        s.Tags,
		Line:        s.ID.Line,
		Col:         s.ID.Column,
	}
	at := func(msg string, args ...any) {
		errs = append(errs, Error{File: file, Line: r.Line, Col: r.Col, Msg: fmt.Sprintf("rule %q: ", r.ID) + fmt.Sprintf(msg, args...)})
	}
	if s.ID.Kind == 0 {
		r.Line, r.Col = s.When.Line, s.When.Column
		at("id is required")
	} else if !ruleIDRe.MatchString(r.ID) {
		at("id: want lower-case letters, digits, '-', '_' or '.', at most 64")
	}
	if r.Description == "" {
		at("description is required: it is what analysts and the SOC read")
	}
	if s.Score < -1000 || s.Score > 1000 {
		at("score %g: want -1000..1000 (negative scores lower the risk)", s.Score)
	}
	if s.Action != "" {
		a, err := risk.ParseAction(s.Action)
		switch {
		case err != nil:
			at("action: %v", err)
		case a == risk.Passwordless:
			at("action: passwordless cannot be forced; a rule can only raise the decision")
		}
		r.Action = a
		r.HasAction = true
	}
	if s.Score == 0 && !r.HasAction && s.Alert == "" {
		at("does nothing: give it a score, an action or an alert")
	}
	sev, err := risk.ParseSeverity(s.Alert)
	if err != nil {
		at("alert: %v", err)
	}
	r.Alert = sev
	switch s.Mode {
	case "", "enforce":
		r.Mode = Enforce
	case "shadow":
		r.Mode = Shadow
	default:
		at("mode %q: want enforce or shadow", s.Mode)
	}
	for _, tag := range s.Tags {
		if !ruleIDRe.MatchString(tag) {
			at("tag %q: want lower-case letters, digits, '-', '_' or '.'", tag)
		}
	}
	if s.When.Kind == 0 || r.When == "" {
		at("when is required")
	} else if s.When.Kind != yaml.ScalarNode {
		errs = append(errs, Error{File: file, Line: s.When.Line, Col: s.When.Column, Msg: fmt.Sprintf("rule %q: when: want an expression string", r.ID)})
	} else if err := r.compile(schema, cfg); err != nil {
		errs = append(errs, exprError(file, src, r.ID, &s.When, err, schema))
	}
	for _, p := range s.Evidence {
		if err := r.addEvidence(schema, p); err != nil {
			at("evidence: %v", err)
		}
	}
	for i, c := range s.Tests {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("%s#%d", r.ID, i+1)
		}
		if c.Match == nil {
			at("test %q: match: true or false is required", name)
			continue
		}
		if _, err := schema.FeaturesFromMap(c.Given); err != nil {
			at("test %q: given: %v", name, err)
		}
		r.Cases = append(r.Cases, RuleCase{Name: name, Given: c.Given, Match: *c.Match})
	}
	if len(errs) > 0 {
		return r, errs
	}
	return r, nil
}

// DefaultFile is the rule file that ships with the binary, used when no
// rule file is configured. It reads the default counter catalogue.
//
//go:embed default.yaml
var DefaultFile []byte
