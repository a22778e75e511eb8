package authn_test

import (
	"context"
	"encoding/json"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"github.com/riskauth/riskauth/authn"
)

// BenchmarkExportBundle is the data export of a user with 10,000 activity
// entries (issue 19): the bundle built from the SQLite store and encoded
// as the download's JSON. It reports the bundle's size and the peak live
// heap of one export (sampled), beside the time and allocations.
func BenchmarkExportBundle(b *testing.B) {
	const entries = 10000
	f := newFixture(b, fixtureOpts{privacy: true, cfg: func(c *authn.Config) { c.Account.ActivityMaxPerUser = entries }})
	const email = "export-bench@example.com"
	f.register(b, email)
	f.login(b, email, home)
	ctx := context.Background()
	u, err := f.store.UserByEmail(ctx, email)
	if err != nil {
		b.Fatal(err)
	}
	at := f.clock.Now().Add(-entries * time.Minute)
	for i := range entries {
		a := authn.Activity{ID: "0193a6f2-7c1e-7000-8000-" + strconv.FormatInt(int64(100000000000+i), 10), UserID: u.ID,
			At: at.Add(time.Duration(i) * time.Minute), Kind: "login_succeeded", IP: "198.51.100.10", City: "Zurich", Country: "CH",
			DeviceID: "dev-home-laptop-0001", UserAgent: browserUA, Factor: "password", Decision: "passwordless", Outcome: "success",
			SessionID: "0193a6f2-7c1e-7000-8000-000000000001", EvaluationID: "0193a6f2-7c1e-7000-8000-000000000002"}
		if err := f.store.AddActivity(ctx, a, 0); err != nil {
			b.Fatal(err)
		}
	}
	self := f.svc.Services.SelfService
	export := func() int {
		bundle, err := self.Bundle(ctx, &u)
		if err != nil {
			b.Fatal(err)
		}
		if len(bundle.Activity) < entries {
			b.Fatalf("%d entries", len(bundle.Activity))
		}
		out, err := json.Marshal(bundle)
		if err != nil {
			b.Fatal(err)
		}
		return len(out)
	}
	peak := peakHeap(export)
	b.ReportAllocs()
	size := 0
	for b.Loop() {
		size = export()
	}
	b.ReportMetric(float64(size)/(1<<20), "bundle-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}

// peakHeap runs fn once after a collection and returns the largest live
// heap (objects) above the starting point it saw, sampled every 200 µs.
func peakHeap(fn func() int) uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	peak := base
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				metrics.Read(s)
				peak = max(peak, s[0].Value.Uint64())
			}
		}
	}()
	fn()
	close(done)
	<-finished
	metrics.Read(s)
	return max(peak, s[0].Value.Uint64()) - base
}
