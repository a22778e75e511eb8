package familiarity

import "time"

// Entry is one value a history keeps for a feature: the value's 64-bit
// hash (never its text) and its decayed weight.
type Entry struct {
	Hash   uint64
	Weight float64
}

// Entries returns the values the history keeps for feature f, for the
// user's own data export (what is held about them, as it is held).
func (h *History) Entries(f Feature) []Entry {
	if int(f) >= NumFeatures {
		return nil
	}
	out := make([]Entry, len(h.vals[f]))
	for i, e := range h.vals[f] {
		out[i] = Entry{Hash: e.h, Weight: float64(e.w)}
	}
	return out
}

// UpdatedAt is when the history was last updated: its weights are as of
// then (zero for an empty history).
func (h *History) UpdatedAt() time.Time {
	if h.at == 0 {
		return time.Time{}
	}
	return time.Unix(h.at, 0).UTC()
}

// Total is the decayed number of logins as of UpdatedAt.
func (h *History) Total() float64 { return float64(h.total) }
