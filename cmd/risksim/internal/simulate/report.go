package simulate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// Report is the outcome of a simulation. It holds no timing, so that the
// same seed gives the same bytes.
type Report struct {
	Config ReportConfig `json:"config"`
	Totals Totals       `json:"totals"`
	// Attacks has one row per attacker model: takeovers first, then waves.
	Attacks []AttackRow `json:"attacks"`
	// Legit has one row per history-size bucket; LegitAll sums them.
	Legit    []BucketRow `json:"legit"`
	LegitAll BucketRow   `json:"legit_all"`
	// Legit14 is the sign-ins with 1-4 logins of history: new users'
	// second and third devices (issue 24's target).
	Legit14 BucketRow `json:"legit_1_4"`
	// Contexts splits legitimate sign-ins by where they came from.
	Contexts []BucketRow `json:"contexts"`
	// Median is the median per-user challenge rate over the sign-ins made
	// with at least 10 logins of history.
	Median Median `json:"median_10"`
	// BlockedUsers is how many legitimate users were blocked at least
	// once, BlockedLogins how many of their sign-ins.
	BlockedUsers  int `json:"blocked_users"`
	BlockedLogins int `json:"blocked_logins"`
	// Familiarity is the familiarity model's threshold sweep and score
	// quantiles.
	Familiarity FamiliarityReport `json:"familiarity"`
	// Rules counts how often each enforced rule matched, per population.
	Rules []RuleRow `json:"rules"`
	// Email describes the users' email domains, Hours each population's
	// sign-ins by local hour (both absent when the run models neither).
	Email *EmailReport `json:"email_domains,omitempty"`
	Hours []HourRow    `json:"local_hours,omitempty"`
	// Split14 breaks the sign-ins with 1-4 logins of history down.
	Split14 *Split14 `json:"legit_1_4_split,omitempty"`
}

// ReportConfig is what the run was.
type ReportConfig struct {
	Seed          uint64  `json:"seed"`
	Users         int     `json:"users"`
	Logins        int     `json:"logins"`
	Weeks         int     `json:"weeks"`
	Attacks       int     `json:"attacks_per_model"`
	StuffingWaves int     `json:"stuffing_waves"`
	SprayingWaves int     `json:"spraying_waves"`
	Rules         string  `json:"rules"`
	RuleSet       string  `json:"ruleset_version"`
	Geo           string  `json:"geo"`
	Fixture       bool    `json:"geo_fixture"`
	Networks      int     `json:"networks"`
	FamThreshold  float64 `json:"familiarity_threshold"`
	ReplayJA4     string  `json:"replay_ja4"`
	// Diurnal is true when sign-ins follow the time-of-day cycle.
	Diurnal bool `json:"diurnal,omitempty"`
}

// Totals count what was evaluated.
type Totals struct {
	Evaluations   int `json:"evaluations"`
	LegitLogins   int `json:"legit_logins"`
	Typos         int `json:"legit_typos"`
	Takeovers     int `json:"takeover_attempts"`
	WaveAttempts  int `json:"wave_attempts"`
	SkippedAttack int `json:"skipped_attacks"`
}

// AttackRow is one attacker model's detection.
type AttackRow struct {
	Model    Model   `json:"model"`
	Attempts int     `json:"attempts"`
	StepUp   int     `json:"step_up"`
	Block    int     `json:"block"`
	TPR      float64 `json:"tpr"`
	// FamFlagged and FamTPR are the familiarity model's, at the report's
	// threshold; absent for waves (most target unknown accounts).
	FamFlagged *int     `json:"familiarity_flagged,omitempty"`
	FamTPR     *float64 `json:"familiarity_tpr,omitempty"`
	// ByHistory splits a takeover model by the victim's history size
	// (successful sign-ins before the attempt), in BucketNames order.
	ByHistory []HistoryTPR `json:"by_history,omitempty"`
}

// HistoryTPR is a takeover model's detection against victims of one
// history-size bucket.
type HistoryTPR struct {
	Bucket   string  `json:"bucket"`
	Attempts int     `json:"attempts"`
	Caught   int     `json:"caught"`
	TPR      float64 `json:"tpr"`
}

// BucketRow is the burden on legitimate sign-ins of one group.
type BucketRow struct {
	Name       string  `json:"name"`
	Logins     int     `json:"logins"`
	StepUp     int     `json:"step_up"`
	Block      int     `json:"block"`
	StepUpRate float64 `json:"step_up_rate"`
	BlockRate  float64 `json:"block_rate"`
	ReauthRate float64 `json:"reauth_rate"`
	FamFlagged int     `json:"familiarity_flagged"`
	FamRate    float64 `json:"familiarity_rate"`
}

// Median is the per-user median challenge rate for users with history.
type Median struct {
	// Users is how many users signed in with ≥ 10 logins of history.
	Users       int     `json:"users"`
	Rules       float64 `json:"rules"`
	Familiarity float64 `json:"familiarity"`
}

// FamiliarityReport tells how the familiarity score separates the
// populations, for choosing a threshold.
type FamiliarityReport struct {
	Threshold float64     `json:"threshold"`
	Sweep     []SweepRow  `json:"sweep"`
	Quantiles []Quantiles `json:"quantiles"`
}

// SweepRow is the familiarity model at one threshold.
type SweepRow struct {
	Threshold float64 `json:"threshold"`
	// Legit10 is the share of legitimate sign-ins with ≥ 10 logins of
	// history scoring above the threshold; Median10 the per-user median.
	Legit10  float64            `json:"legit_10"`
	Median10 float64            `json:"median_10"`
	TPR      map[string]float64 `json:"tpr"`
}

// Quantiles of one population's familiarity scores.
type Quantiles struct {
	Name string  `json:"name"`
	N    int     `json:"n"`
	P5   float64 `json:"p5"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
}

// RuleRow counts one rule's matches.
type RuleRow struct {
	Rule  string `json:"rule"`
	Legit int    `json:"legit"`
	// LegitBlock counts the legitimate sign-ins the rule helped block.
	LegitBlock int `json:"legit_block"`
	Takeover   int `json:"takeover"`
	Wave       int `json:"wave"`
	// ByModel splits Takeover by attacker model.
	ByModel map[Model]int `json:"takeover_by_model,omitempty"`
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func rate(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return round4(float64(n) / float64(d))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return round4(s[len(s)/2])
	}
	return round4((s[len(s)/2-1] + s[len(s)/2]) / 2)
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Round(q * float64(len(sorted)-1)))
	return round4(sorted[i])
}

func bucketRow(name string, t *tally) BucketRow {
	return BucketRow{Name: name, Logins: t.n, StepUp: t.stepUp, Block: t.block, StepUpRate: rate(t.stepUp, t.n),
		BlockRate: rate(t.block, t.n), ReauthRate: rate(t.stepUp+t.block, t.n), FamFlagged: t.fam, FamRate: rate(t.fam, t.n)}
}

func (s *Sim) report(st *stats) *Report {
	c := s.cfg
	r := &Report{Config: ReportConfig{Seed: c.Seed, Users: c.Users, Logins: c.Logins, Weeks: c.Weeks, Attacks: c.Attacks,
		StuffingWaves: c.StuffingWaves, SprayingWaves: c.SprayingWaves, Rules: cmp.Or(c.RulesPath, "embedded default"),
		RuleSet: s.eng.RuleSet, Geo: s.atlas.Source, Fixture: s.atlas.Fixture, Networks: s.atlas.Kept, FamThreshold: c.FamiliarityThreshold,
		ReplayJA4: c.ReplayJA4, Diurnal: !c.FlatDay}}
	if !c.NoEmailDomains {
		e := s.email
		r.Email = &EmailReport{CorporateUsers: e.corporate, Share: rate(e.corporate, len(s.pop.users)), Companies: e.companies,
			WithColleagues: e.withColleagues, Largest: e.largest}
	}
	if !c.FlatDay {
		r.Hours = st.hourRows()
	}
	var all tally
	for i := range st.legit {
		t := &st.legit[i]
		r.Legit = append(r.Legit, bucketRow(BucketNames[i], t))
		all.n += t.n
		all.stepUp += t.stepUp
		all.block += t.block
		all.fam += t.fam
	}
	r.LegitAll = bucketRow("all", &all)
	r.Legit14 = bucketRow("1-4", &st.legit14)
	if !c.NoEmailDomains || !c.FlatDay {
		r.Split14 = st.split14Report()
	}
	for _, cx := range []Context{CtxHome, CtxWork, CtxMobile, CtxVPN, CtxHotel, CtxRoaming} {
		if t := st.contexts[cx]; t != nil {
			r.Contexts = append(r.Contexts, bucketRow(string(cx), t))
		}
	}
	r.Totals = Totals{LegitLogins: all.n, Typos: st.typos, SkippedAttack: st.skipped}
	for _, m := range TakeoverModels() {
		t := st.ato[m]
		if t == nil {
			t = &tally{}
		}
		fam, ftpr := t.fam, rate(t.fam, t.n)
		row := AttackRow{Model: m, Attempts: t.n, StepUp: t.stepUp, Block: t.block,
			TPR: rate(t.stepUp+t.block, t.n), FamFlagged: &fam, FamTPR: &ftpr}
		if h := st.atoHist[m]; h != nil {
			for i := range h {
				c := h[i].stepUp + h[i].block
				row.ByHistory = append(row.ByHistory, HistoryTPR{Bucket: BucketNames[i], Attempts: h[i].n, Caught: c, TPR: rate(c, h[i].n)})
			}
		}
		r.Attacks = append(r.Attacks, row)
		r.Totals.Takeovers += t.n
	}
	for _, m := range WaveModels {
		t := st.waves[m]
		if t == nil {
			t = &tally{}
		}
		r.Attacks = append(r.Attacks, AttackRow{Model: m, Attempts: t.n, StepUp: t.stepUp, Block: t.block, TPR: rate(t.stepUp+t.block, t.n)})
		r.Totals.WaveAttempts += t.n
	}
	r.Totals.Evaluations = r.Totals.LegitLogins + r.Totals.Typos + r.Totals.Takeovers + r.Totals.WaveAttempts

	// Per-user medians, users in id order.
	var rulesRates, famRates []float64
	sweepRates := make([][]float64, len(SweepThresholds))
	for _, u := range s.pop.users {
		if u.blocked {
			r.BlockedUsers++
		}
		if u.n10 == 0 {
			continue
		}
		rulesRates = append(rulesRates, float64(u.c10)/float64(u.n10))
		famRates = append(famRates, float64(u.f10)/float64(u.n10))
		for i, n := range st.sweep10[u] {
			sweepRates[i] = append(sweepRates[i], float64(n)/float64(u.n10))
		}
	}
	r.BlockedLogins = st.blockedLog
	r.Median = Median{Users: len(rulesRates), Rules: median(rulesRates), Familiarity: median(famRates)}

	r.Familiarity.Threshold = c.FamiliarityThreshold
	n10 := st.legit[3].n + st.legit[4].n
	for i, th := range SweepThresholds {
		row := SweepRow{Threshold: th, Legit10: rate(st.legit[3].sweep[i]+st.legit[4].sweep[i], n10),
			Median10: median(sweepRates[i]), TPR: map[string]float64{}}
		for _, m := range TakeoverModels() {
			if t := st.ato[m]; t != nil && t.sweep != nil {
				row.TPR[string(m)] = rate(t.sweep[i], t.n)
			}
		}
		r.Familiarity.Sweep = append(r.Familiarity.Sweep, row)
	}
	q := func(name string, xs []float64) {
		s := slices.Clone(xs)
		slices.Sort(s)
		r.Familiarity.Quantiles = append(r.Familiarity.Quantiles, Quantiles{Name: name, N: len(s),
			P5: quantile(s, 0.05), P50: quantile(s, 0.5), P95: quantile(s, 0.95)})
	}
	q("legit (history ≥ 10)", append(slices.Clone(st.legit[3].scores), st.legit[4].scores...))
	q("legit (history 3-9)", st.legit[2].scores)
	for _, m := range TakeoverModels() {
		if t := st.ato[m]; t != nil {
			q(string(m), t.scores)
		}
	}
	for _, row := range st.rules {
		r.Rules = append(r.Rules, *row)
	}
	slices.SortFunc(r.Rules, func(a, b RuleRow) int {
		return cmp.Or(-cmp.Compare(a.Legit+a.Takeover+a.Wave, b.Legit+b.Takeover+b.Wave), cmp.Compare(a.Rule, b.Rule))
	})
	return r
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("simulate: json report: %w", err)
	}
	return nil
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// WriteText writes the report as terminal tables.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	c := r.Config
	fmt.Fprintf(&b, "risksim seed %d: %d users, %d legitimate logins over %d weeks; rules %s (%s)\n", c.Seed, c.Users, r.Totals.LegitLogins, c.Weeks, c.Rules, c.RuleSet)
	fmt.Fprintf(&b, "geo: %s, %d networks; cookie replays with the %s TLS stack\n", c.Geo, c.Networks, c.ReplayJA4)
	fmt.Fprintf(&b, "evaluations: %d (typos %d, takeover attempts %d, wave attempts %d)\n\n", r.Totals.Evaluations, r.Totals.Typos, r.Totals.Takeovers, r.Totals.WaveAttempts)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "attacker model\tattempts\tstep-up\tblock\tTPR rules\tTPR familiarity > %g\t\n", c.FamThreshold)
	for _, a := range r.Attacks {
		fam := "-"
		if a.FamTPR != nil {
			fam = pct(*a.FamTPR)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t\n", a.Model, a.Attempts, a.StepUp, a.Block, pct(a.TPR), fam)
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "TPR by victim's history")
	for _, n := range BucketNames {
		fmt.Fprintf(tw, "\t%s", n)
	}
	fmt.Fprintf(tw, "\t\n")
	for _, a := range r.Attacks {
		if a.ByHistory == nil {
			continue
		}
		fmt.Fprintf(tw, "%s", a.Model)
		for _, h := range a.ByHistory {
			if h.Attempts == 0 {
				fmt.Fprintf(tw, "\t-")
				continue
			}
			fmt.Fprintf(tw, "\t%s of %d", pct(h.TPR), h.Attempts)
		}
		fmt.Fprintf(tw, "\t\n")
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "legit, history\tlogins\tstep-up\tblock\tre-auth rules\tre-auth familiarity\t\n")
	rows := append(slices.Clone(r.Legit), r.LegitAll, r.Legit14)
	for _, l := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", l.Name, l.Logins, pct(l.StepUpRate), pct(l.BlockRate), pct(l.ReauthRate), pct(l.FamRate))
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "legit, context\tlogins\tstep-up\tblock\tre-auth rules\tre-auth familiarity\t\n")
	for _, l := range r.Contexts {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t\n", l.Name, l.Logins, pct(l.StepUpRate), pct(l.BlockRate), pct(l.ReauthRate), pct(l.FamRate))
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nmedian per-user re-auth rate, history ≥ 10 (%d users): rules %s, familiarity %s\n", r.Median.Users, pct(r.Median.Rules), pct(r.Median.Familiarity))
	fmt.Fprintf(&b, "legitimate users blocked: %d (%d logins)\n\n", r.BlockedUsers, r.BlockedLogins)
	r.writeHours(&b)
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "familiarity >\tlegit ≥10\tmedian user ≥10")
	for _, m := range TakeoverModels() {
		fmt.Fprintf(tw, "\t%s", m)
	}
	fmt.Fprintf(tw, "\t\n")
	for _, s := range r.Familiarity.Sweep {
		fmt.Fprintf(tw, "%g\t%s\t%s", s.Threshold, pct(s.Legit10), pct(s.Median10))
		for _, m := range TakeoverModels() {
			fmt.Fprintf(tw, "\t%s", pct(s.TPR[string(m)]))
		}
		fmt.Fprintf(tw, "\t\n")
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "familiarity score\tn\tp5\tp50\tp95\t\n")
	for _, q := range r.Familiarity.Quantiles {
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t\n", q.Name, q.N, q.P5, q.P50, q.P95)
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "rule\tlegit\tlegit blocked\ttakeover\twave")
	models := TakeoverModels()
	for _, m := range models {
		fmt.Fprintf(tw, "\t%s", m)
	}
	fmt.Fprintf(tw, "\t\n")
	for _, x := range r.Rules {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d", x.Rule, x.Legit, x.LegitBlock, x.Takeover, x.Wave)
		for _, m := range models {
			fmt.Fprintf(tw, "\t%d", x.ByModel[m])
		}
		fmt.Fprintf(tw, "\t\n")
	}
	tw.Flush()
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("simulate: text report: %w", err)
	}
	return nil
}
