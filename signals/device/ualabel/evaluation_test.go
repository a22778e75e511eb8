package ualabel_test

import (
	"strings"
	"testing"

	"github.com/riskauth/riskauth/engine/familiarity"
	"github.com/riskauth/riskauth/signals/device"
	"github.com/riskauth/riskauth/signals/device/ualabel"
)

// TestEvaluationParsesOnce reads user agents as an evaluation does (the
// device identifier, then the familiarity extractor) and checks that the
// two share one parse, and that a user agent seen before is not parsed
// again. Not parallel: it counts the package's parses.
func TestEvaluationParsesOnce(t *testing.T) {
	labels := ualabel.NewCache(0) // one cache for both, as signals/standard wires them
	x, err := device.New(device.Config{Key: []byte("0123456789abcdef0123456789abcdef"), Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	e := familiarity.NewExtractor(labels.ReleaseLabels)
	// Unique to this test, so that no other test has cached them.
	base := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 TestEvaluationParsesOnce/"
	for _, ua := range []string{base + "1", base + "2", base + strings.Repeat("x", 600)} {
		before := ualabel.Parses()
		for i := range 3 {
			info := x.Identify(nil, ua)
			fx := e.Extract(familiarity.Input{UserAgent: ua})
			if info.Browser != "Chrome" || fx.Browser != "Chrome 131" {
				t.Fatalf("labels %+v, %+v", info, fx)
			}
			// The long one too: both cut it to the same 512 bytes.
			if n := ualabel.Parses() - before; n != 1 {
				t.Fatalf("%d evaluations of %.40q… parsed it %d times, want 1", i+1, ua, n)
			}
		}
	}
}
