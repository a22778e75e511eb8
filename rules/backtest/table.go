package backtest

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/riskauth/riskauth/engine/risk"
)

// maxCell bounds how much of an untrusted string a table cell shows.
const maxCell = 48

var actions = [numActions]risk.Action{risk.Passwordless, risk.StepUp, risk.Block}

// WriteJSON writes the report as indented JSON (field reference in
// docs/backtest.md).
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		return fmt.Errorf("backtest: write json: %w", err)
	}
	return nil
}

// WriteTable writes the report as aligned text for a terminal. Strings
// from the input are cleaned of control characters (a crafted rule id or
// user id must not drive the analyst's terminal) and shortened.
func WriteTable(w io.Writer, rep *Report) error {
	ew := &errWriter{w: w}
	p := func(format string, a ...any) { fmt.Fprintf(ew, format, a...) }
	tw := func() *tabwriter.Writer { return tabwriter.NewWriter(ew, 0, 0, 2, ' ', tabwriter.AlignRight) }
	t := rep.Totals
	c := rep.Candidate

	p("riskauth rules backtest\n\n")
	p("candidate  %s, version %s, %d rules, thresholds step_up %s / block %s\n",
		clean(c.Name), clean(c.Version), c.Rules, num(c.Thresholds.StepUp), num(c.Thresholds.Block))
	var vs []string
	for _, v := range rep.Baseline.Versions {
		vs = append(vs, fmt.Sprintf("%s (%d)", clean(v.Version), v.Events))
	}
	if len(vs) == 0 {
		vs = []string{"-"}
	}
	p("recorded   %s\n", strings.Join(vs, ", "))
	if !rep.Baseline.From.IsZero() {
		p("events     %s .. %s\n", stamp(rep.Baseline.From), stamp(rep.Baseline.To))
	}
	p("input      %d lines, %d decisions replayed", t.Lines, t.Replayed)
	if t.Skipped > 0 {
		var cs []string
		for _, k := range rep.SkippedClasses {
			cs = append(cs, fmt.Sprintf("class %d: %d", k.ClassUID, k.Count))
		}
		p(", %d other messages skipped (%s)", t.Skipped, strings.Join(cs, ", "))
	}
	p("\n")
	if bad := t.Malformed + t.InvalidFeatures + t.NoFeatures; bad > 0 {
		p("not replayed  %d malformed, %d invalid features, %d without features\n", t.Malformed, t.InvalidFeatures, t.NoFeatures)
	}
	p("changed    %d of %d (%s)", t.Changed, t.Replayed, pct(t.Changed, t.Replayed))
	if t.Floored > 0 {
		p("; %d floored by an unavailable signal, the floor held %d", t.Floored, t.FloorHeld)
	}
	if t.RuleErrors > 0 {
		p("; %d rule errors", t.RuleErrors)
	}
	p("\n\n")

	p("Decisions\n")
	w1 := tw()
	fmt.Fprintf(w1, "  %-12s\tbefore\t\tafter\t\tchange\t\n", "")
	for _, a := range actions {
		b, af := rep.Decisions.Before.Get(a), rep.Decisions.After.Get(a)
		fmt.Fprintf(w1, "  %-12s\t%d\t%s\t%d\t%s\t%+d\t\n", a, b, pct(b, t.Replayed), af, pct(af, t.Replayed), af-b)
	}
	_ = w1.Flush()

	p("\nBefore (rows) -> after (columns)\n")
	w2 := tw()
	fmt.Fprintf(w2, "  %-12s\tpasswordless\tstep_up\tblock\t\n", "")
	for i, a := range actions {
		fmt.Fprintf(w2, "  %-12s\t", a)
		for j := range actions {
			fmt.Fprintf(w2, "%d\t", rep.Matrix[i*numActions+j].Count)
		}
		fmt.Fprintln(w2)
	}
	_ = w2.Flush()

	p("\nScores\n")
	w3 := tw()
	fmt.Fprintf(w3, "  %-8s\tbefore\tafter\t\n", "")
	for i, b := range rep.Scores.Buckets {
		fmt.Fprintf(w3, "  %-8s\t%d\t%d\t\n", b.Label, rep.Scores.Before[i], rep.Scores.After[i])
	}
	_ = w3.Flush()

	p("\nRules (hits per replayed event)\n")
	w4 := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w4, "  rule\tmode\tstatus\tcandidate\trate\trecorded\trate\tdelta\terrors\n")
	for _, r := range rep.Rules {
		mode := r.Mode
		if mode == "" {
			mode = "-"
		}
		fmt.Fprintf(w4, "  %s\t%s\t%s\t%d\t%s\t%d\t%s\t%+d\t%d\n", clean(r.ID), mode, r.Status,
			r.CandidateHits, pct(r.CandidateHits, t.Replayed), r.BaselineHits, pct(r.BaselineHits, t.Replayed),
			r.CandidateHits-r.BaselineHits, r.Errors)
	}
	_ = w4.Flush()
	rc := rep.RuleChanges
	how := "inferred from recorded reasons"
	if rc.Exact {
		how = "against the baseline rule file"
	}
	p("  added: %s; removed: %s (%s)\n", list(rc.Added), list(rc.Removed), how)

	if len(rep.Changes) > 0 {
		p("\nChanged decisions (samples: lowest line numbers first)\n")
	}
	for _, ch := range rep.Changes {
		p("\n  %s -> %s: %d\n", ch.From, ch.To, ch.Count)
		for _, s := range ch.Samples {
			who := clean(s.UserID)
			if who == "" {
				who = clean(s.Identifier)
			}
			if who == "" {
				who = "-"
			}
			p("    line %d  %s  %s  user %s  ip %s  eval %s\n", s.Line, stamp(s.Time), orDash(clean(s.Kind)), who, orDash(clean(s.IP)), clean(s.EvaluationID))
			p("      before %-12s score %-6s %s%s\n", s.Before.Decision, num(s.Before.Score), list(s.Before.Rules), flag(s.Before.Floored, " (floored)"))
			p("      after  %-12s score %-6s %s%s%s\n", s.After.Decision, num(s.After.Score), list(s.After.Rules),
				flag(s.After.Floored, " (held by the floor)"), shadow(s.After.Shadow))
		}
	}
	if len(rep.Problems) > 0 {
		bad := t.Malformed + t.InvalidFeatures
		p("\nLines not replayed (first %d of %d)\n", len(rep.Problems), bad)
		for _, pr := range rep.Problems {
			p("  line %d: %s: %s\n", pr.Line, pr.Kind, cleanN(pr.Error, maxErrorText))
		}
	}
	if ew.err != nil {
		return fmt.Errorf("backtest: write table: %w", ew.err)
	}
	return nil
}

// errWriter keeps the first write error so the renderer can write freely
// and report once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	_, e.err = e.w.Write(p)
	return len(p), nil
}

func flag(b bool, s string) string {
	if b {
		return s
	}
	return ""
}

func shadow(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return "  shadow " + list(ids)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func list(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = clean(id)
	}
	return "[" + strings.Join(out, " ") + "]"
}

func pct(n, of int64) string {
	return strconv.FormatFloat(100*rate(n, of), 'f', 2, 64) + "%"
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// clean makes an untrusted string safe to print on a terminal: control
// and other non-printing characters become U+FFFD, and it is cut to
// maxCell runes.
func clean(s string) string { return cleanN(s, maxCell) }

// cleanN is clean with another length limit.
func cleanN(s string, limit int) string {
	ok := utf8.RuneCountInString(s) <= limit
	if ok {
		for _, r := range s {
			if !unicode.IsPrint(r) || r == utf8.RuneError {
				ok = false
				break
			}
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == limit {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
