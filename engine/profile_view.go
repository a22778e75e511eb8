package engine

import (
	"time"

	"github.com/riskauth/riskauth/engine/familiarity"
)

// FamiliarityView is a profile's familiarity history as the user's data
// export shows it: per feature, the hashes of the values seen (never the
// values) with their decayed weights.
type FamiliarityView struct {
	Logins    uint64
	Weighted  float64
	UpdatedAt time.Time
	// Features maps a feature's name (ip, asn, city, ...) to its values.
	Features map[string][]familiarity.Entry
}

// FamiliarityView decodes the profile's familiarity history; ok is false
// when it has none (or it does not decode).
func (p *Profile) FamiliarityView() (v FamiliarityView, ok bool) {
	if len(p.Familiarity) == 0 {
		return v, false
	}
	var h familiarity.History
	if h.UnmarshalBinary(p.Familiarity) != nil {
		return v, false
	}
	v = FamiliarityView{Logins: h.Logins(), Weighted: h.Total(), UpdatedAt: h.UpdatedAt(), Features: map[string][]familiarity.Entry{}}
	for i := range familiarity.NumFeatures {
		f := familiarity.Feature(i)
		if es := h.Entries(f); len(es) > 0 {
			v.Features[f.String()] = es
		}
	}
	return v, true
}
