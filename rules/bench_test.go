package rules_test

import (
	"testing"
	"time"

	"github.com/riskauth/riskauth/rules"
)

// BenchmarkEvaluate50 runs the 50-rule benchmark file on one feature set:
// the expression cost that engine.BenchmarkEvaluate builds on, as the
// same-run baseline for it.
func BenchmarkEvaluate50(b *testing.B) {
	s := schema(b)
	rs, err := rules.LoadFile("../testdata/rules/bench50.good.yaml", s)
	if err != nil {
		b.Fatal(err)
	}
	f, err := s.FeaturesFromMap(map[string]any{
		"event":    map[string]any{"kind": "login", "ip": "198.51.100.7", "has_user": true},
		"user":     map[string]any{"known": true, "logins": 12},
		"device":   map[string]any{"present": true, "known_for_user": true},
		"velocity": map[string]any{"ip_failures_10m": 2, "user_failures_1h": 1},
		"geo":      map[string]any{"country": "GB", "asn": 64496},
	})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		rs.Evaluate(f, now)
	}
}
