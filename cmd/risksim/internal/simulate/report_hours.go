package simulate

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// HourRow is one population's sign-ins by the local hour at the address
// they come from, as a rule can compute it: event.hour_utc plus geo.lon
// at 15 degrees an hour (localHour). Sign-ins the geo signal could not
// place are not counted.
type HourRow struct {
	Name  string  `json:"name"`
	N     int     `json:"n"`
	Hours [24]int `json:"hours"`
	// Night is the share at 01:00-04:59 local.
	Night float64 `json:"night_1_5"`
}

// EmailReport describes the email domains the users were given.
type EmailReport struct {
	// CorporateUsers signed up with a work address; Share is their share
	// of all users.
	CorporateUsers int     `json:"corporate_users"`
	Share          float64 `json:"corporate_share"`
	Companies      int     `json:"companies"`
	// WithColleagues counts corporate users whose employer has at least
	// three users (the organisation-network rule's N), so that
	// velocity.domain_asn_users_90d can reach 3 at its office.
	WithColleagues int `json:"corporate_users_with_colleagues"`
	// Largest is the most users one employer has.
	Largest int `json:"largest_employer"`
}

// split14 counts a legitimate sign-in with 1-4 logins of history by its
// context and by the user's email (corporate or free mail), and the rules
// that matched it when it was challenged: which second devices cost the
// burden target.
func (st *stats) split14(d *engine.Decision, fam float64, cfg *Config, ctx Context, u *user) {
	groups := []string{"context " + string(ctx)}
	if u.domain != "" {
		g := "email corporate"
		if engine.IsFreeMail(u.domain) {
			g = "email free-mail"
		}
		groups = append(groups, g)
	}
	for _, g := range groups {
		t := st.groups14[g]
		if t == nil {
			t = &tally{}
			st.groups14[g] = t
		}
		t.add(d, fam, cfg, false)
	}
	if d.Action == risk.StepUp || d.Action == risk.Block {
		for _, r := range d.Reasons {
			st.rules14[r.Rule]++
		}
	}
}

// hourTally counts a population's sign-ins by local hour.
func (st *stats) hourTally(name string, d *engine.Decision) {
	if !d.Features.Geo.Available {
		return
	}
	h := st.hours[name]
	if h == nil {
		h = new([24]int)
		st.hours[name] = h
	}
	h[localHour(d.Features.Event.HourUTC, d.Features.Geo.Longitude)]++
}

// hourRows are the hour tallies in report order: legitimate sign-ins,
// then the takeover models.
func (st *stats) hourRows() []HourRow {
	var rows []HourRow
	for _, name := range append([]string{"legit"}, modelNames()...) {
		h := st.hours[name]
		if h == nil {
			continue
		}
		row := HourRow{Name: name, Hours: *h}
		night := 0
		for i, n := range h {
			row.N += n
			if i >= 1 && i < 5 {
				night += n
			}
		}
		row.Night = rate(night, row.N)
		rows = append(rows, row)
	}
	return rows
}

func modelNames() []string {
	var out []string
	for _, m := range TakeoverModels() {
		out = append(out, string(m))
	}
	return out
}

// writeHours writes the email-domain line and the local-hour table.
func (r *Report) writeHours(b *strings.Builder) {
	if e := r.Email; e != nil {
		fmt.Fprintf(b, "email domains: %d corporate users (%s), %d employers (largest %d users), %d corporate users with 2 or more colleagues in the service\n\n",
			e.CorporateUsers, pct(e.Share), e.Companies, e.Largest, e.WithColleagues)
	}
	if len(r.Hours) == 0 {
		return
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "local hour at the address\tn\t00-04\t04-08\t08-12\t12-16\t16-20\t20-24\tnight 01-05\t\n")
	for _, h := range r.Hours {
		fmt.Fprintf(tw, "%s\t%d", h.Name, h.N)
		for q := 0; q < 24; q += 4 {
			n := 0
			for _, c := range h.Hours[q : q+4] {
				n += c
			}
			fmt.Fprintf(tw, "\t%s", pct(rate(n, h.N)))
		}
		fmt.Fprintf(tw, "\t%s\t\n", pct(h.Night))
	}
	tw.Flush()
	b.WriteString("\n")
}

// Split14 is the sign-ins with 1-4 logins of history by group (context,
// email kind), and how often each rule matched those of them that were
// challenged.
type Split14 struct {
	Groups []BucketRow   `json:"groups"`
	Rules  []RuleMatches `json:"challenged_rules"`
}

// RuleMatches counts one rule's matches.
type RuleMatches struct {
	Rule    string `json:"rule"`
	Matches int    `json:"matches"`
}

func (st *stats) split14Report() *Split14 {
	if len(st.groups14) == 0 {
		return nil
	}
	out := &Split14{}
	for _, g := range slices.Sorted(maps.Keys(st.groups14)) {
		out.Groups = append(out.Groups, bucketRow(g, st.groups14[g]))
	}
	for r, n := range st.rules14 {
		out.Rules = append(out.Rules, RuleMatches{Rule: r, Matches: n})
	}
	slices.SortFunc(out.Rules, func(a, b RuleMatches) int {
		return cmp.Or(-cmp.Compare(a.Matches, b.Matches), cmp.Compare(a.Rule, b.Rule))
	})
	return out
}
