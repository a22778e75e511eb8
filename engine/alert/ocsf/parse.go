package ocsf

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
)

// wireDecision is the part of an Authentication message a backtest reads.
type wireDecision struct {
	ClassUID *int  `json:"class_uid"`
	Time     int64 `json:"time"`
	User     struct {
		UID  string `json:"uid"`
		Name string `json:"name"`
	} `json:"user"`
	Src struct {
		IP string `json:"ip"`
	} `json:"src_endpoint"`
	Metadata struct {
		UID            string `json:"uid"`
		CorrelationUID string `json:"correlation_uid"`
	} `json:"metadata"`
	Unmapped struct {
		Riskauth *struct {
			Decision       string  `json:"decision"`
			Score          float64 `json:"score"`
			EvaluationID   string  `json:"evaluation_id"`
			EventKind      string  `json:"event_kind"`
			RuleSetVersion string  `json:"ruleset_version"`
			Floored        bool    `json:"floored"`
			Reasons        []struct {
				Rule string `json:"rule"`
			} `json:"reasons"`
			Features  map[string]any `json:"features"`
			Candidate *struct {
				Version  string  `json:"version"`
				Decision string  `json:"decision"`
				Score    float64 `json:"score"`
				Floored  bool    `json:"floored"`
				Reasons  []struct {
					Rule string `json:"rule"`
				} `json:"reasons"`
			} `json:"candidate"`
		} `json:"riskauth"`
	} `json:"unmapped"`
}

// ParseDecision reads back a message written by Authentication. Features
// come back as JSON decodes them (numbers as float64), which is what
// (*rules.Schema).FeaturesFromMap accepts; a message without a feature
// snapshot yields a nil map. Input is untrusted (a spool file, a topic
// anyone may write to): it never panics and reports what is wrong. A
// message nested deeper than jsondepth.Limit (riskauth writes 8 levels at
// most) is refused before it is decoded, since decoding the snapshot into
// maps recurses and allocates per level.
func ParseDecision(data []byte) (*DecisionRecord, error) {
	if err := jsondepth.Check(data, jsondepth.Limit); err != nil {
		return nil, fmt.Errorf("ocsf: decision event: %w", err)
	}
	var m wireDecision
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("ocsf: decision event: %w", err)
	}
	if m.ClassUID == nil || *m.ClassUID != classAuthentication {
		return nil, fmt.Errorf("%w: class_uid is not %d", ErrNotDecision, classAuthentication)
	}
	ra := m.Unmapped.Riskauth
	if ra == nil {
		return nil, fmt.Errorf("%w: no unmapped.riskauth extension", ErrNotDecision)
	}
	action, err := risk.ParseAction(ra.Decision)
	if err != nil {
		return nil, fmt.Errorf("ocsf: decision event: %w", err)
	}
	if m.Metadata.UID == "" {
		return nil, fmt.Errorf("ocsf: decision event: %w", ErrNoID)
	}
	rec := &DecisionRecord{
		ID:             m.Metadata.UID,
		EvaluationID:   ra.EvaluationID,
		Time:           time.UnixMilli(m.Time).UTC(),
		UserID:         m.User.UID,
		Decision:       action,
		Score:          ra.Score,
		RuleSetVersion: ra.RuleSetVersion,
		Features:       ra.Features,
		Kind:           ra.EventKind,
		Identifier:     m.User.Name,
		IP:             m.Src.IP,
		Floored:        ra.Floored,
	}
	if rec.EvaluationID == "" {
		rec.EvaluationID = m.Metadata.CorrelationUID
	}
	if len(ra.Reasons) > 0 {
		rec.Rules = make([]string, len(ra.Reasons))
		for i, r := range ra.Reasons {
			rec.Rules[i] = r.Rule
		}
	}
	if c := ra.Candidate; c != nil {
		ca, err := risk.ParseAction(c.Decision)
		if err != nil {
			return nil, fmt.Errorf("ocsf: decision event: candidate: %w", err)
		}
		rec.Candidate = &CandidateRecord{Version: c.Version, Decision: ca, Score: c.Score, Floored: c.Floored}
		for _, r := range c.Reasons {
			rec.Candidate.Rules = append(rec.Candidate.Rules, r.Rule)
		}
	}
	return rec, nil
}
