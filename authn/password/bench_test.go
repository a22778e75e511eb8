package password

import (
	"context"
	"testing"
)

// BenchmarkVerify measures one verification at the default parameters
// (m=19 MiB, t=2, p=1) and reports it as ms/op.
func BenchmarkVerify(b *testing.B) {
	phc, err := Hash("benchmark password", DefaultParams())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := Verify(phc, "benchmark password"); err != nil || !ok {
			b.Fatalf("verify: %v %v", ok, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
}

// BenchmarkVerifyParallel measures throughput through a Hasher with the
// default concurrency (one slot per core), from more goroutines than slots
// as a server has, and reports verifications per second.
func BenchmarkVerifyParallel(b *testing.B) {
	h, err := NewHasher(HasherConfig{MaxWait: DefaultMaxWait * 30})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	phc, err := h.Hash(ctx, "benchmark password")
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := h.Verify(ctx, phc, "benchmark password"); err != nil || !ok {
				b.Errorf("verify: %v %v", ok, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
}
