package ocsf_test

import (
	"encoding/json"
	"testing"

	"github.com/riskauth/riskauth/authn/secevent"
	"github.com/riskauth/riskauth/engine/alert/ocsf"
	"github.com/riskauth/riskauth/engine/risk"
)

// The sink encodes on one background goroutine at up to ~50k messages/s,
// i.e. a budget of 20µs per message; these measure the realistic case (a
// located sign-in with reasons, evidence and the default counter catalogue)
// reusing one buffer as the sink does.

func BenchmarkAuthentication(b *testing.B) {
	enc := newEncoder()
	d := handDecision(b, risk.StepUp, true, "u-42")
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = enc.Authentication(buf[:0], d, "0193a6f2-7c1e-7000-8000-0000000000a1")
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkFinding(b *testing.B) {
	enc := newEncoder()
	d := handDecision(b, risk.Block, true, "u-42")
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = enc.Finding(buf[:0], d, "0193a6f2-7c1e-7000-8000-0000000000a2")
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkSecurity(b *testing.B) {
	enc := newEncoder()
	ev := securityEvent(secevent.Lockout)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = enc.Security(buf[:0], ev, "0193a6f2-7c1e-7000-8000-0000000000a4")
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkParseDecision(b *testing.B) {
	msg, err := newEncoder().Authentication(nil, handDecision(b, risk.StepUp, true, "u-42"), "m")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ocsf.ParseDecision(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFeaturesMarshal is the reference the append-style encoder is
// measured against: encoding/json on the feature snapshot alone (the
// velocity namespace marshals through a map) costs more than a whole
// Authentication message from this package.
func BenchmarkFeaturesMarshal(b *testing.B) {
	d := handDecision(b, risk.StepUp, true, "u-42")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(d.Features); err != nil {
			b.Fatal(err)
		}
	}
}
