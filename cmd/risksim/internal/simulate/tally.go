package simulate

import (
	"github.com/riskauth/riskauth/engine"
	"github.com/riskauth/riskauth/engine/risk"
)

// bucketOf maps a history size to its report bucket.
func bucketOf(logins int) int {
	switch {
	case logins == 0:
		return 0
	case logins <= 2:
		return 1
	case logins <= 9:
		return 2
	case logins <= 29:
		return 3
	}
	return 4
}

// BucketNames label the history-size buckets.
var BucketNames = []string{"0", "1-2", "3-9", "10-29", "30+"}

// tally accumulates decisions of one population.
type tally struct {
	n, stepUp, block, fam int
	sweep                 []int
	scores                []float64
}

func (t *tally) add(d *engine.Decision, score float64, cfg *Config, keepScore bool) {
	t.n++
	switch d.Action {
	case risk.StepUp:
		t.stepUp++
	case risk.Block:
		t.block++
	}
	if score > cfg.FamiliarityThreshold {
		t.fam++
	}
	if t.sweep == nil {
		t.sweep = make([]int, len(SweepThresholds))
	}
	for i, th := range SweepThresholds {
		if score > th {
			t.sweep[i]++
		}
	}
	if keepScore {
		t.scores = append(t.scores, score)
	}
}

// stats is everything Run counts.
type stats struct {
	legit [5]tally
	// legit14 counts sign-ins with 1-4 logins of history (issue 24's
	// new-user target), across the 1-2 and 3-9 buckets.
	legit14  tally
	contexts map[Context]*tally
	ato      map[Model]*tally
	// atoHist splits each takeover model by the victim's history size.
	atoHist    map[Model]*[5]tally
	waves      map[Model]*tally
	rules      map[string]*RuleRow
	typos      int
	skipped    int
	blockedLog int
	// sweep10 counts, per user and sweep threshold, challenged logins with
	// ≥ 10 logins of history, for the per-user medians.
	sweep10 map[*user][]int
	// hours counts sign-ins by local hour, per population (hourTally).
	hours map[string]*[24]int
	// groups14 and rules14 split the sign-ins with 1-4 logins of history
	// (split14).
	groups14 map[string]*tally
	rules14  map[string]int
}
