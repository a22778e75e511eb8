package main

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riskauth/riskauth/authn/password"
)

// rawVerify runs GOMAXPROCS goroutines calling password.Verify on phc in a
// loop for d and returns verifications/s and CPU per verification.
func rawVerify(ctx context.Context, phc string, d time.Duration) (float64, time.Duration, error) {
	var n atomic.Int64
	var bad atomic.Bool
	cpu0, start := cpuTime(0), time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				ok, err := password.Verify(phc, legitPassword)
				if err != nil || !ok {
					bad.Store(true)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	el, cpu := time.Since(start), cpuTime(0)-cpu0
	if bad.Load() || n.Load() == 0 {
		return 0, 0, errors.New("raw argon2id verification failed")
	}
	return float64(n.Load()) / el.Seconds(), cpu / time.Duration(n.Load()), nil
}

// closedLoop has workers send pick(i) one after the other, each waiting
// for its answer, for d, or, when n > 0, until n requests were sent
// (whichever comes first), and returns the tally and the time taken.
func closedLoop(ctx context.Context, s *sender, pick func(i int64) *client, workers int, d time.Duration, n int64) (*tally, time.Duration) {
	t := &tally{}
	var next atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				i := next.Add(1) - 1
				if n > 0 && i >= n {
					return
				}
				s.login(pick(i), t0, t)
			}
		})
	}
	wg.Wait()
	return t, time.Since(start)
}

// openLoop sends n requests at rate per second regardless of answers,
// each in its own goroutine, with at most limit outstanding: one that
// would exceed it is not sent and counted in skipped. pick chooses the
// i-th request's client. Latency runs from the scheduled send time, so a
// slow server cannot hide behind a slow sender. It returns when every
// request has been answered.
func openLoop(ctx context.Context, s *sender, rate float64, n int, limit int, pick func(i int64) *client, t *tally) (skipped int64) {
	sem := make(chan struct{}, limit)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		select {
		case sem <- struct{}{}:
		default:
			skipped++
			continue
		}
		c := pick(int64(i))
		wg.Go(func() {
			defer func() { <-sem }()
			s.login(c, at, t)
		})
	}
	wg.Wait()
	return skipped
}
