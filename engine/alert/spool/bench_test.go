package spool

import (
	"fmt"
	"log/slog"
	"testing"
)

// BenchmarkAppend measures the sink's write path with alert-sized records
// (about 600 bytes of OCSF JSON). Target: >= 100k records/s under
// SyncBatch.
func BenchmarkAppend(b *testing.B) {
	const size = 600
	for _, policy := range []SyncPolicy{SyncBatch, SyncNever, SyncAlways} {
		for _, batch := range []int{1, 64} {
			b.Run(fmt.Sprintf("sync=%s/batch=%d/size=%d", policy, batch, size), func(b *testing.B) {
				s, err := Open(Options{
					Dir: b.TempDir(), Sync: policy, MaxBytes: 1 << 40,
					Logger: slog.New(slog.DiscardHandler),
				})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				recs := payloads(0, batch, size)
				b.SetBytes(int64(batch * size))
				b.ResetTimer()
				for b.Loop() {
					if err := s.Append(recs...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}

// BenchmarkDrain measures the drainer's path: Read a batch, Ack it (one
// atomic cursor write, so two fsyncs, per batch).
func BenchmarkDrain(b *testing.B) {
	const size, batch = 600, 256
	s, err := Open(Options{Dir: b.TempDir(), Sync: SyncNever, MaxBytes: 1 << 40, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	recs := payloads(0, batch, size)
	b.SetBytes(int64(batch * size))
	for b.Loop() {
		b.StopTimer()
		if err := s.Append(recs...); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		got, err := s.Read(batch)
		if err != nil || len(got) != batch {
			b.Fatal(len(got), err)
		}
		if err := s.Ack(got[len(got)-1].Pos); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "records/s")
}
