package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/config"
	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
	"github.com/riskauth/riskauth/rules"
)

// maxExplainInput bounds what explain reads: one event or one recorded
// decision is a few kilobytes.
const maxExplainInput = 1 << 20

// eventRequest is the risk-check API's event body (POST /v1/risk/evaluate,
// see internal/httpapi and openapi.json), which is what explain accepts as an
// event. The service decodes it with its own (faster) parser; this one is
// strict, so a misspelt key is an error rather than a silently empty field.
type eventRequest struct {
	Event      string                   `json:"event"`
	UserID     string                   `json:"user_id,omitempty"`
	Identifier string                   `json:"identifier,omitempty"`
	IP         string                   `json:"ip,omitempty"`
	UserAgent  string                   `json:"user_agent,omitempty"`
	Device     *engine.DeviceDescriptor `json:"device,omitempty"`
	JA4        string                   `json:"ja4,omitempty"`
	Attributes map[string]string        `json:"attributes,omitempty"`
	Password   string                   `json:"password,omitempty"`
}

func requestOf(ev engine.Event) eventRequest {
	r := eventRequest{Event: ev.Kind, UserID: ev.UserID, Identifier: ev.Identifier, UserAgent: ev.UserAgent,
		Device: ev.Device, JA4: ev.JA4, Attributes: ev.Attributes}
	if ev.IP.IsValid() {
		r.IP = ev.IP.String()
	}
	return r
}

// explainInput is what explain was given: an event to evaluate, or a
// recorded decision whose feature snapshot is evaluated again.
type explainInput struct {
	Event  *engine.Event
	Record *ocsf.DecisionRecord
}

// decodeExplainInput tells an event body from a recorded decision (an OCSF
// Authentication message has class_uid) and decodes it. The input is
// untrusted (pasted from a log or a topic): it never panics and says what
// is wrong.
func decodeExplainInput(data []byte) (explainInput, error) {
	data = bytes.TrimSpace(data)
	if len(data) > maxExplainInput {
		return explainInput{}, fmt.Errorf("input is %d bytes, the limit is %d", len(data), maxExplainInput)
	}
	if err := jsondepth.Check(data, jsondepth.Limit); err != nil {
		return explainInput{}, fmt.Errorf("input: %w", err)
	}
	var probe map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&probe); err != nil {
		return explainInput{}, fmt.Errorf("input: want one JSON object (an event or a recorded decision): %w", err)
	}
	if dec.More() {
		return explainInput{}, errors.New("input: more than one JSON value; explain one event or decision at a time (one line of a JSONL file)")
	}
	if probe == nil {
		return explainInput{}, errors.New("input: want a JSON object, got null")
	}
	if _, ok := probe["class_uid"]; ok {
		rec, err := ocsf.ParseDecision(data)
		if err != nil {
			return explainInput{}, fmt.Errorf("recorded decision: %w", err)
		}
		if rec.Features == nil {
			return explainInput{}, errors.New("recorded decision: no feature snapshot (unmapped.riskauth.features) to evaluate")
		}
		return explainInput{Record: rec}, nil
	}
	var req eventRequest
	sd := json.NewDecoder(bytes.NewReader(data))
	sd.DisallowUnknownFields()
	if err := sd.Decode(&req); err != nil {
		return explainInput{}, fmt.Errorf("event: %w (want the risk-check API body: event, user_id, identifier, ip, user_agent, device, ja4, attributes, password; or a recorded decision)", err)
	}
	if req.Event == "" {
		return explainInput{}, errors.New("event: \"event\" (the kind: login, registration, ...) is required")
	}
	ev := engine.Event{Kind: req.Event, UserID: req.UserID, Identifier: req.Identifier, UserAgent: req.UserAgent,
		Device: req.Device, JA4: req.JA4, Attributes: req.Attributes, Password: req.Password}
	if req.IP != "" {
		ip, err := netip.ParseAddr(req.IP)
		if err != nil {
			return explainInput{}, fmt.Errorf("event: ip: %w", err)
		}
		ev.IP = ip
	}
	if err := ev.Validate(); err != nil {
		return explainInput{}, fmt.Errorf("event: %w", err)
	}
	return explainInput{Event: &ev}, nil
}

// explainReport is explain's output, in both formats.
type explainReport struct {
	Input string `json:"input"`
	// Note says what the evaluation could not know.
	Note  string `json:"note,omitempty"`
	Rules string `json:"rules_file"`
	// Event is the evaluated event (password removed), for event input.
	Event *eventRequest `json:"event,omitempty"`
	// Engine is what the engine decided, for event input: it can differ
	// from the rules' decision when a signal was unavailable (floor).
	Engine *engineVerdict `json:"engine,omitempty"`
	// Recorded is what was decided then, for recorded decision input.
	Recorded    *recordedVerdict  `json:"recorded,omitempty"`
	Explanation rules.Explanation `json:"explanation"`
}

type engineVerdict struct {
	Decision risk.Action             `json:"decision"`
	Score    float64                 `json:"score"`
	Floored  bool                    `json:"floored,omitempty"`
	Signals  map[string]signalStatus `json:"signal_status"`
}

// signalStatus is engine.SignalStatus without the timing, which differs
// from run to run and says nothing about the decision.
type signalStatus struct {
	Available bool   `json:"available"`
	Error     string `json:"error,omitempty"`
}

type recordedVerdict struct {
	ID             string      `json:"id"`
	EvaluationID   string      `json:"evaluation_id,omitempty"`
	Time           time.Time   `json:"time"`
	UserID         string      `json:"user_id,omitempty"`
	Identifier     string      `json:"identifier,omitempty"`
	IP             string      `json:"ip,omitempty"`
	Decision       risk.Action `json:"decision"`
	Score          float64     `json:"score"`
	Rules          []string    `json:"rules"`
	RuleSetVersion string      `json:"ruleset_version,omitempty"`
	Floored        bool        `json:"floored,omitempty"`
}

// freshStateNote is printed for event input: the engine explain builds has
// no history, so everything that counts or remembers starts at zero.
const freshStateNote = "evaluated by a fresh engine (embedded defaults, in-memory state) at a fixed virtual time (" +
	"2026-01-01T12:00:00Z, so event.hour_utc is 12): history features are zero or empty " +
	"(velocity.*, user.known/logins/..., device.known_for_user/trusted, geo.new_country/last_*, travel); " +
	"to explain a production decision with its history, give the recorded decision event instead"

// explainCmd is `riskctl rules explain`.
func explainCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", os.Getenv("RISKAUTH_CONFIG"), "riskauthd configuration file (counters, geo databases)")
	rulesPath := fs.String("rules", "", "rule file (default: the built-in rules)")
	format := fs.String("format", "text", "text or json")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) > 1 || (*format != "text" && *format != "json") {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var data []byte
	switch {
	case len(pos) == 0 || pos[0] == "-":
		data, err = io.ReadAll(io.LimitReader(stdin, maxExplainInput+1))
	default:
		data, err = os.ReadFile(pos[0])
	}
	if err != nil {
		fmt.Fprintf(stderr, "explain: %v\n", err)
		return 2
	}
	in, err := decodeExplainInput(data)
	if err != nil {
		fmt.Fprintf(stderr, "explain: %v\n", err)
		return 2
	}
	cfg, schema, err := loadSetup(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	rep := explainReport{Rules: *rulesPath}
	if rep.Rules == "" {
		rep.Rules = "(built-in default rules)"
	}
	if in.Event != nil {
		err = explainEvent(&rep, *in.Event, cfg, schema, *rulesPath)
	} else {
		err = explainRecord(&rep, in.Record, schema, *rulesPath)
	}
	if err != nil {
		printLoadError(stderr, *rulesPath, err)
		return 2
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "explain: %v\n", err)
			return 2
		}
		return 0
	}
	printExplanation(stdout, &rep)
	return 0
}

func explainEvent(rep *explainReport, ev engine.Event, cfg *config.Config, schema *rules.Schema, rulesPath string) error {
	// The API body carries no time: evaluate at a fixed virtual time (the
	// note says which) so that explanations are reproducible.
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h, err := newHarness(harnessConfig{Config: cfg, Schema: schema, RulesFile: rulesPath, Start: start})
	if err != nil {
		return err
	}
	defer h.Close()
	d, err := h.engine.Evaluate(context.Background(), ev)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	req := requestOf(ev)
	rep.Input = "event"
	rep.Note = freshStateNote
	rep.Event = &req
	rep.Engine = &engineVerdict{Decision: d.Action, Score: d.Score, Floored: d.Floored, Signals: map[string]signalStatus{}}
	for _, st := range d.Signals {
		rep.Engine.Signals[st.Name] = signalStatus{Available: st.Available, Error: st.Error}
	}
	rep.Explanation = h.source.Current().Explain(d.Features, d.Time)
	return nil
}

func explainRecord(rep *explainReport, rec *ocsf.DecisionRecord, schema *rules.Schema, rulesPath string) error {
	var rs *rules.RuleSet
	var err error
	if rulesPath == "" {
		rs, err = rules.Compile("default.yaml", rules.DefaultFile, schema)
	} else {
		rs, err = rules.LoadFile(rulesPath, schema)
	}
	if err != nil {
		return err
	}
	f, err := schema.FeaturesFromMap(rec.Features)
	if err != nil {
		return fmt.Errorf("recorded decision %s: feature snapshot: %w (was it recorded with another counter catalogue? use -config)", rec.ID, err)
	}
	rep.Input = "recorded decision"
	rep.Note = "the recorded feature snapshot is evaluated again with the rule file: this is what the rules decide now for the same signals"
	if rec.Floored {
		rep.Note += "; the recorded decision was raised by the unavailable-signal floor, which the rules alone do not reproduce"
	}
	rep.Recorded = &recordedVerdict{ID: rec.ID, EvaluationID: rec.EvaluationID, Time: rec.Time, UserID: rec.UserID,
		Identifier: rec.Identifier, IP: rec.IP, Decision: rec.Decision, Score: rec.Score, Rules: rec.Rules,
		RuleSetVersion: rec.RuleSetVersion, Floored: rec.Floored}
	if rep.Recorded.Rules == nil {
		rep.Recorded.Rules = []string{}
	}
	rep.Explanation = rs.Explain(f, rec.Time)
	return nil
}

// printExplanation renders the report for people: input, signals by
// namespace, every rule with its verdict and why, the score build-up and
// the decision.
func printExplanation(w io.Writer, rep *explainReport) {
	x := &rep.Explanation
	fmt.Fprintf(w, "input:    %s\n", rep.Input)
	if rep.Event != nil {
		fmt.Fprintf(w, "event:    %s\n", eventJSONReq(*rep.Event))
	}
	if r := rep.Recorded; r != nil {
		who := strings.Join(nonEmpty(r.UserID, r.Identifier), " / ")
		fmt.Fprintf(w, "decision: %s at %s, user %s from %s\n", r.ID, r.Time.UTC().Format(time.RFC3339Nano), orDash(who), orDash(r.IP))
		fmt.Fprintf(w, "recorded: %s, score %g, rules [%s], rule set %s\n", r.Decision, r.Score, strings.Join(r.Rules, " "), orDash(r.RuleSetVersion))
	}
	fmt.Fprintf(w, "rules:    %s (version %s)\n", rep.Rules, x.Version)
	if rep.Note != "" {
		fmt.Fprintf(w, "note:     %s\n", rep.Note)
	}

	fmt.Fprintln(w, "\nsignals")
	ns := ""
	for _, e := range x.Features {
		name, field, _ := strings.Cut(e.Field, ".")
		if name != ns {
			ns = name
			status := ""
			if rep.Engine != nil {
				if st, ok := rep.Engine.Signals[name]; ok {
					status = " (signal available)"
					if !st.Available {
						status = " (signal unavailable: " + orDash(st.Error) + ")"
					}
				}
			}
			fmt.Fprintf(w, "  %s%s\n", name, status)
		}
		fmt.Fprintf(w, "    %-26s %s\n", field, value(e.Value))
	}

	enforce, shadow, matched := 0, 0, 0
	for _, r := range x.Rules {
		if r.Mode == rules.Shadow {
			shadow++
		} else {
			enforce++
		}
		if r.Matched {
			matched++
		}
	}
	fmt.Fprintf(w, "\nrules (%d enforce, %d shadow): %d matched\n", enforce, shadow, matched)
	for _, r := range x.Rules {
		mark := "✗"
		if r.Matched {
			mark = "✓"
		}
		effect := fmt.Sprintf("%+g", r.Score)
		switch {
		case r.Action != "" && r.Score == 0:
			effect = r.Action
		case r.Action != "":
			effect += " " + r.Action
		}
		mode := ""
		if r.Mode == rules.Shadow {
			mode = "  [shadow]"
		}
		fmt.Fprintf(w, "  %s %-28s %-14s line %d%s\n", mark, r.ID, effect, r.Line, mode)
		if r.Error != "" {
			fmt.Fprintf(w, "      error: %s (counts as not matched)\n", r.Error)
		}
		printConditions(w, r.Why, "      ")
		var reads []string
		for _, e := range r.Fields {
			reads = append(reads, e.Field+"="+value(e.Value))
		}
		fmt.Fprintf(w, "      reads: %s\n", strings.Join(reads, "  "))
	}

	fmt.Fprintln(w, "\nscore")
	if len(x.Contributions) == 0 {
		fmt.Fprintln(w, "  no enforced rule matched")
	}
	for _, c := range x.Contributions {
		fmt.Fprintf(w, "  %+8g  %-28s = %g\n", c.Score, c.Rule, c.Total)
	}
	fmt.Fprintf(w, "  total %g: %s (step_up from %g, block from %g)\n", x.Score, x.ScoreDecision, x.Thresholds.StepUp, x.Thresholds.Block)
	for _, f := range x.Forced {
		fmt.Fprintf(w, "  forced: %s by %s\n", f.Action, f.Rule)
	}
	fmt.Fprintf(w, "decision: %s\n", x.Decision)
	if e := rep.Engine; e != nil && (e.Decision != x.Decision || e.Floored) {
		fmt.Fprintf(w, "engine decision: %s (floored %t: a signal was unavailable)\n", e.Decision, e.Floored)
	}
	if r := rep.Recorded; r != nil {
		if r.Decision == x.Decision {
			fmt.Fprintf(w, "recorded decision: %s (unchanged)\n", r.Decision)
		} else {
			fmt.Fprintf(w, "recorded decision: %s (changed: now %s)\n", r.Decision, x.Decision)
		}
	}
	if len(x.Shadow) == 0 && len(x.ShadowForced) == 0 {
		fmt.Fprintln(w, "shadow: no shadow rule matched")
		return
	}
	for _, c := range x.Shadow {
		fmt.Fprintf(w, "  shadow %+g  %-21s = %g\n", c.Score, c.Rule, c.Total)
	}
	for _, f := range x.ShadowForced {
		fmt.Fprintf(w, "  shadow forced: %s by %s\n", f.Action, f.Rule)
	}
	fmt.Fprintf(w, "shadow decision: %s (what enforcing the shadow rules would give; not applied)\n", x.ShadowDecision)
}

func printConditions(w io.Writer, cs []rules.Condition, indent string) {
	for _, c := range cs {
		op := ""
		if c.Op != "" {
			op = c.Op + " "
		}
		fmt.Fprintf(w, "%s%-6s %s%s\n", indent, c.String(), op, c.Expr)
		if len(c.Parts) > 0 {
			printConditions(w, c.Parts, indent+"       ")
		}
	}
}

// value renders a feature value compactly: strings quoted, so an empty
// string is visible.
func value(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case float64:
		return fmt.Sprintf("%g", x)
	}
	return fmt.Sprint(v)
}

func eventJSONReq(r eventRequest) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(r)
	return strings.TrimSpace(b.String())
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
