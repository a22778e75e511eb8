package backtest

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/riskauth/riskauth/engine/risk"
)

//go:embed report.html.tmpl
var reportTemplate string

// page is parsed once per WriteHTML call: a template is cheap to parse and
// a package-level one would be state built at init.
func page() (*template.Template, error) {
	return template.New("report").Funcs(template.FuncMap{
		"pct":   pct,
		"num":   num,
		"stamp": stamp,
		"list":  func(ids []string) string { return strings.Join(ids, " ") },
		"delta": func(a, b int64) string { return fmt.Sprintf("%+d", a-b) },
	}).Parse(reportTemplate)
}

// htmlData is what the template renders: the report plus chart geometry
// computed here, so the template only places numbers and escaped text.
type htmlData struct {
	*Report
	Title      string
	MixChart   chart
	ScoreChart chart
	RuleChart  chart
	// RuleChartLimited is set when only the busiest rules are charted.
	RuleChartLimited int
	Matrix           [][]matrixCell
	Actions          []risk.Action
}

type matrixCell struct {
	Count   int64
	Changed bool
	Pct     string
}

// chart is a bar chart drawn as inline SVG.
type chart struct {
	Title  string
	W, H   int
	Bars   []bar
	Labels []label
	Grid   []gridLine
	Legend []legend
}

type bar struct {
	X, Y, W, H float64
	Class      string // "before" or "after": the colour
	Tip        string
}

type label struct {
	X, Y   float64
	Anchor string
	Text   string
	Class  string
}

type gridLine struct {
	X1, Y1, X2, Y2 float64
	Label          string
	LX, LY         float64
	Anchor         string
}

type legend struct {
	X, Y  float64
	Class string
	Text  string
}

// maxChartRules bounds the per-rule chart; the table lists every rule.
const maxChartRules = 40

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and SVG charts, no script, no external resource (a Content-Security-Policy
// forbids them too). Everything from the input is escaped by html/template.
func WriteHTML(w io.Writer, rep *Report) error {
	t, err := page()
	if err != nil {
		return fmt.Errorf("backtest: html template: %w", err)
	}
	d := htmlData{Report: rep, Title: "riskauth backtest: " + rep.Candidate.Name, Actions: actions[:]}
	names := []string{"recorded", "candidate"}
	var before, after []int64
	var labels []string
	for _, a := range actions {
		labels = append(labels, a.String())
		before = append(before, rep.Decisions.Before.Get(a))
		after = append(after, rep.Decisions.After.Get(a))
	}
	d.MixChart = columns("Decision mix, recorded vs candidate", labels, names, before, after, 520)
	labels = labels[:0]
	for _, b := range rep.Scores.Buckets {
		labels = append(labels, b.Label)
	}
	d.ScoreChart = columns("Score histogram, recorded vs candidate", labels, names, rep.Scores.Before, rep.Scores.After, 760)
	d.RuleChart, d.RuleChartLimited = ruleBars(rep)
	for i := range actions {
		var row []matrixCell
		for j := range actions {
			c := rep.Matrix[i*numActions+j].Count
			row = append(row, matrixCell{Count: c, Changed: i != j && c > 0, Pct: pct(c, rep.Totals.Replayed)})
		}
		d.Matrix = append(d.Matrix, row)
	}
	if err := t.Execute(w, d); err != nil {
		return fmt.Errorf("backtest: write html: %w", err)
	}
	return nil
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, for axis
// ticks that read well.
func niceMax(v int64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(float64(v))))
	for _, m := range []float64{1, 2, 5, 10} {
		if float64(v) <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// columns draws grouped vertical bars: one group per label, a recorded
// and a candidate bar in each.
func columns(title string, labels, names []string, a, b []int64, width int) chart {
	const (
		height      = 260
		left, right = 56.0, 12.0
		top, bottom = 28.0, 40.0
	)
	c := chart{Title: title, W: width, H: height}
	var hi int64
	for i := range a {
		hi = max(hi, a[i], b[i])
	}
	top2 := niceMax(hi)
	plotH := float64(height) - top - bottom
	plotW := float64(width) - left - right
	for k := 0; k <= 4; k++ {
		v := top2 * float64(k) / 4
		y := top + plotH - plotH*float64(k)/4
		c.Grid = append(c.Grid, gridLine{X1: left, Y1: y, X2: left + plotW, Y2: y, Label: num(math.Round(v*100) / 100), LX: left - 6, LY: y + 4, Anchor: "end"})
	}
	group := plotW / float64(len(labels))
	bw := math.Min(28, group*0.36)
	for i, l := range labels {
		x0 := left + group*float64(i) + group/2
		for s, v := range []int64{a[i], b[i]} {
			h := plotH * float64(v) / top2
			x := x0 - bw + float64(s)*bw
			cls := "before"
			if s == 1 {
				cls = "after"
			}
			c.Bars = append(c.Bars, bar{X: round1(x), Y: round1(top + plotH - h), W: round1(bw - 2), H: round1(h), Class: cls,
				Tip: fmt.Sprintf("%s, %s: %d", l, names[s], v)})
		}
		c.Labels = append(c.Labels, label{X: round1(x0), Y: top + plotH + 18, Anchor: "middle", Text: l})
	}
	c.Legend = []legend{{X: left, Y: 10, Class: "before", Text: names[0]}, {X: left + 110, Y: 10, Class: "after", Text: names[1]}}
	return c
}

// ruleBars draws one pair of horizontal bars per rule (candidate and
// recorded hits), the busiest maxChartRules rules in table order.
func ruleBars(rep *Report) (chart, int) {
	rows := rep.Rules
	limited := 0
	if len(rows) > maxChartRules {
		limited = maxChartRules
		idx := make([]int, len(rows))
		for i := range idx {
			idx[i] = i
		}
		busiest := func(r RuleStats) int64 { return max(r.CandidateHits, r.BaselineHits) }
		// Keep the busiest, stable in table order.
		slices.SortStableFunc(idx, func(i, j int) int { return cmp.Compare(busiest(rows[j]), busiest(rows[i])) })
		keep := make(map[int]bool, maxChartRules)
		for _, i := range idx[:maxChartRules] {
			keep[i] = true
		}
		var kept []RuleStats
		for i, r := range rows {
			if keep[i] {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	const (
		width           = 760
		left, right     = 220.0, 60.0
		top, rowH, barH = 30.0, 26.0, 10.0
	)
	c := chart{Title: "Rule hits, candidate vs recorded", W: width, H: int(top + rowH*float64(max(len(rows), 1)) + 24)}
	var hi int64
	for _, r := range rows {
		hi = max(hi, r.CandidateHits, r.BaselineHits)
	}
	top2 := niceMax(hi)
	plotW := float64(width) - left - right
	bottom := top + rowH*float64(max(len(rows), 1))
	for k := 0; k <= 4; k++ {
		x := left + plotW*float64(k)/4
		c.Grid = append(c.Grid, gridLine{X1: x, Y1: top - 4, X2: x, Y2: bottom, Label: num(math.Round(top2*float64(k)/4*100) / 100), LX: x, LY: bottom + 16, Anchor: "middle"})
	}
	for i, r := range rows {
		y := top + rowH*float64(i)
		id := r.ID
		if len([]rune(id)) > 30 {
			id = string([]rune(id)[:30]) + "…"
		}
		c.Labels = append(c.Labels, label{X: left - 8, Y: round1(y + rowH/2 + 4), Anchor: "end", Text: id, Class: "rule " + r.Status})
		for s, v := range []int64{r.CandidateHits, r.BaselineHits} {
			cls, name := "after", "candidate"
			if s == 1 {
				cls, name = "before", "recorded"
			}
			wd := plotW * float64(v) / top2
			c.Bars = append(c.Bars, bar{X: left, Y: round1(y + 3 + float64(s)*(barH+1)), W: round1(wd), H: barH, Class: cls,
				Tip: fmt.Sprintf("%s, %s: %d", r.ID, name, v)})
		}
	}
	c.Legend = []legend{{X: left, Y: 10, Class: "after", Text: "candidate"}, {X: left + 110, Y: 10, Class: "before", Text: "recorded"}}
	return c, limited
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
