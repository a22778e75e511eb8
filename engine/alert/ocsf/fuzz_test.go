package ocsf_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/engine/risk"
	"github.com/riskauth/riskauth/internal/leaf/jsondepth"
)

// FuzzParseDecision feeds arbitrary bytes to the parser of recorded
// decision events (spool files and topics are untrusted input): it must
// never panic, and whatever it accepts must be usable by a backtest.
func FuzzParseDecision(f *testing.F) {
	enc := newEncoder()
	for _, a := range []risk.Action{risk.Passwordless, risk.StepUp, risk.Block} {
		msg, err := enc.Authentication(nil, handDecision(f, a, true, "u-42"), "m")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg)
	}
	f.Add([]byte(`{"class_uid":3002,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"block","features":{"velocity":{"x":1e400}}}}}`))
	f.Add([]byte(`{"class_uid":3002,"time":-9223372036854775808,"metadata":{"uid":"m"},"unmapped":{"riskauth":{"decision":"step_up","reasons":[null,{}]}}}`))
	f.Add([]byte(`null`))
	f.Add(deepDecision(jsondepth.Limit - 4))
	f.Add(deepDecision(jsondepth.Limit - 3))
	f.Add([]byte(strings.Repeat(`{"a":[`, 1000)))
	s := schema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := ocsf.ParseDecision(data)
		if deep := jsondepth.Exceeds(data, jsondepth.Limit); deep != errors.Is(err, jsondepth.ErrTooDeep) {
			t.Fatalf("nested %d deep: %v", jsondepth.Depth(data), err)
		}
		if err != nil {
			return
		}
		if rec.ID == "" {
			t.Fatal("accepted a message without an id")
		}
		if rec.Decision < risk.Passwordless || rec.Decision > risk.Block {
			t.Fatalf("decision %d out of range", rec.Decision)
		}
		// A backtest hands the map straight to FeaturesFromMap: errors are
		// fine, panics are not.
		_, _ = s.FeaturesFromMap(rec.Features)
	})
}
