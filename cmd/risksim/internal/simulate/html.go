package simulate

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes a self-contained HTML report: the tables and two
// inline SVG charts (re-authentication rate by history size, TPR per
// attacker model), no script and no external resource.
func (r *Report) WriteHTML(w io.Writer) error {
	var b strings.Builder
	if err := htmlTpl.Execute(&b, map[string]any{"R": r, "Reauth": template.HTML(r.reauthSVG()), "TPR": template.HTML(r.tprSVG())}); err != nil {
		return fmt.Errorf("simulate: html report: %w", err)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("simulate: html report: %w", err)
	}
	return nil
}

var htmlTpl = template.Must(template.New("report").Funcs(template.FuncMap{"pct": pct, "deref": func(p *float64) string {
	if p == nil {
		return "-"
	}
	return pct(*p)
}}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>risksim seed {{.R.Config.Seed}}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}th:first-child,td:first-child{text-align:left}svg{margin:1em 0}</style></head>
<body><h1>risksim report</h1>
<p>Seed {{.R.Config.Seed}}: {{.R.Config.Users}} users, {{.R.Totals.LegitLogins}} legitimate logins over {{.R.Config.Weeks}} weeks.
Rules: {{.R.Config.Rules}} ({{.R.Config.RuleSet}}). Geo: {{.R.Config.Geo}}, {{.R.Config.Networks}} networks.
Familiarity threshold: {{.R.Config.FamThreshold}}.</p>
<h2>Re-authentication rate by history size</h2>
{{.Reauth}}
<h2>True-positive rate per attacker model</h2>
{{.TPR}}
<h2>Attacks</h2>
<table><tr><th>model</th><th>attempts</th><th>step-up</th><th>block</th><th>TPR rules</th><th>TPR familiarity</th></tr>
{{range .R.Attacks}}<tr><td>{{.Model}}</td><td>{{.Attempts}}</td><td>{{.StepUp}}</td><td>{{.Block}}</td><td>{{pct .TPR}}</td><td>{{deref .FamTPR}}</td></tr>
{{end}}</table>
<h2>Legitimate sign-ins</h2>
<table><tr><th>history</th><th>logins</th><th>step-up</th><th>block</th><th>re-auth rules</th><th>re-auth familiarity</th></tr>
{{range .R.Legit}}<tr><td>{{.Name}}</td><td>{{.Logins}}</td><td>{{pct .StepUpRate}}</td><td>{{pct .BlockRate}}</td><td>{{pct .ReauthRate}}</td><td>{{pct .FamRate}}</td></tr>
{{end}}{{with .R.LegitAll}}<tr><th>{{.Name}}</th><td>{{.Logins}}</td><td>{{pct .StepUpRate}}</td><td>{{pct .BlockRate}}</td><td>{{pct .ReauthRate}}</td><td>{{pct .FamRate}}</td></tr>{{end}}
</table>
<table><tr><th>context</th><th>logins</th><th>step-up</th><th>block</th><th>re-auth rules</th><th>re-auth familiarity</th></tr>
{{range .R.Contexts}}<tr><td>{{.Name}}</td><td>{{.Logins}}</td><td>{{pct .StepUpRate}}</td><td>{{pct .BlockRate}}</td><td>{{pct .ReauthRate}}</td><td>{{pct .FamRate}}</td></tr>
{{end}}</table>
<p>Median per-user re-authentication rate with ≥ 10 logins of history ({{.R.Median.Users}} users): rules {{pct .R.Median.Rules}},
familiarity {{pct .R.Median.Familiarity}}. Legitimate users blocked: {{.R.BlockedUsers}} ({{.R.BlockedLogins}} logins).</p>
<h2>Familiarity threshold sweep</h2>
<table><tr><th>score &gt;</th><th>legit ≥ 10</th><th>median user ≥ 10</th><th>naive</th><th>vpn</th><th>targeted</th><th>very targeted</th></tr>
{{range .R.Familiarity.Sweep}}<tr><td>{{.Threshold}}</td><td>{{pct .Legit10}}</td><td>{{pct .Median10}}</td><td>{{pct (index .TPR "naive")}}</td><td>{{pct (index .TPR "vpn")}}</td><td>{{pct (index .TPR "targeted")}}</td><td>{{pct (index .TPR "very_targeted")}}</td></tr>
{{end}}</table>
<table><tr><th>familiarity score</th><th>n</th><th>p5</th><th>p50</th><th>p95</th></tr>
{{range .R.Familiarity.Quantiles}}<tr><td>{{.Name}}</td><td>{{.N}}</td><td>{{printf "%.2f" .P5}}</td><td>{{printf "%.2f" .P50}}</td><td>{{printf "%.2f" .P95}}</td></tr>
{{end}}</table>
<h2>Rules matched</h2>
<table><tr><th>rule</th><th>legit</th><th>legit blocked</th><th>takeover</th><th>wave</th></tr>
{{range .R.Rules}}<tr><td>{{.Rule}}</td><td>{{.Legit}}</td><td>{{.LegitBlock}}</td><td>{{.Takeover}}</td><td>{{.Wave}}</td></tr>
{{end}}</table>
</body></html>
`))

const (
	svgW, svgH             = 720, 300
	padL, padR, padT, padB = 56, 150, 20, 40
)

func svgEscape(s string) string { return template.HTMLEscapeString(s) }

// axes draws the frame, the y grid in percent and the x labels.
func axes(b *strings.Builder, labels []string, title string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`, svgW, svgH, svgW, svgH)
	fmt.Fprintf(b, `<title>%s</title>`, svgEscape(title))
	ph := svgH - padT - padB
	for i := 0; i <= 4; i++ {
		y := padT + ph - ph*i/4
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#ddd"/><text x="%d" y="%d" text-anchor="end">%d%%</text>`,
			padL, y, svgW-padR, y, padL-6, y+4, 25*i)
	}
	pw := svgW - padL - padR
	for i, l := range labels {
		x := padL + pw*(2*i+1)/(2*len(labels))
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`, x, svgH-padB+16, svgEscape(l))
	}
}

func yOf(v float64) float64 {
	ph := float64(svgH - padT - padB)
	return float64(padT) + ph - ph*min(max(v, 0), 1)
}

func legend(b *strings.Builder, i int, color, name string) {
	y := padT + 10 + 18*i
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`,
		svgW-padR+12, y-10, color, svgW-padR+30, y, svgEscape(name))
}

// reauthSVG is the line chart of re-authentication rate vs history size.
func (r *Report) reauthSVG() string {
	var b strings.Builder
	labels := make([]string, len(r.Legit))
	for i, l := range r.Legit {
		labels[i] = l.Name
	}
	axes(&b, labels, "re-authentication rate vs login-history size")
	series := []struct {
		name, color string
		v           func(BucketRow) float64
	}{
		{"rules: step-up or block", "#1f77b4", func(l BucketRow) float64 { return l.ReauthRate }},
		{"rules: block", "#d62728", func(l BucketRow) float64 { return l.BlockRate }},
		{fmt.Sprintf("familiarity > %g", r.Config.FamThreshold), "#2ca02c", func(l BucketRow) float64 { return l.FamRate }},
	}
	pw := svgW - padL - padR
	for si, s := range series {
		var pts []string
		for i, l := range r.Legit {
			x := padL + pw*(2*i+1)/(2*len(r.Legit))
			pts = append(pts, fmt.Sprintf("%d,%.1f", x, yOf(s.v(l))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, s.color, strings.Join(pts, " "))
		for _, p := range pts {
			xy := strings.Split(p, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`, xy[0], xy[1], s.color)
		}
		legend(&b, si, s.color, s.name)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">logins of history</text></svg>`, padL+pw/2, svgH-6)
	return b.String()
}

// tprSVG is the grouped bar chart of TPR per attacker model.
func (r *Report) tprSVG() string {
	var b strings.Builder
	labels := make([]string, len(r.Attacks))
	for i, a := range r.Attacks {
		labels[i] = shortName(a.Model)
	}
	axes(&b, labels, "true-positive rate per attacker model")
	pw := svgW - padL - padR
	slot := pw / max(len(r.Attacks), 1)
	bw := slot / 3
	base := yOf(0)
	for i, a := range r.Attacks {
		x0 := padL + slot*i + slot/2 - bw
		y := yOf(a.TPR)
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="#1f77b4"><title>rules %s</title></rect>`, x0, y, bw, base-y, pct(a.TPR))
		if a.FamTPR != nil {
			y = yOf(*a.FamTPR)
			fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="#2ca02c"><title>familiarity %s</title></rect>`, x0+bw, y, bw, base-y, pct(*a.FamTPR))
		}
	}
	legend(&b, 0, "#1f77b4", "rules: step-up or block")
	legend(&b, 1, "#2ca02c", fmt.Sprintf("familiarity > %g", r.Config.FamThreshold))
	b.WriteString(`</svg>`)
	return b.String()
}

// shortName is a model's chart label: short enough that six fit side by side.
func shortName(m Model) string {
	switch m {
	case Stuffing:
		return "stuffing"
	case Spraying:
		return "spraying"
	}
	return strings.ReplaceAll(string(m), "_", " ")
}
