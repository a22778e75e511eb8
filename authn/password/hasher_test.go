package password

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/riskauth/riskauth/internal/leaf/testenv"
)

func newTestHasher(t *testing.T, cfg HasherConfig) *Hasher {
	t.Helper()
	if cfg.Params == (Params{}) {
		cfg.Params = testParams
	}
	h, err := NewHasher(cfg)
	require.NoError(t, err)
	return h
}

func TestNewHasherConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     HasherConfig
		errText string
	}{
		{name: "zero value", cfg: HasherConfig{}},
		{name: "bad params", cfg: HasherConfig{Params: Params{Memory: 1}}, errText: "memory 1 KiB"},
		{name: "negative concurrency", cfg: HasherConfig{Concurrency: -1}, errText: "negative concurrency"},
		{name: "negative wait", cfg: HasherConfig{MaxWait: -time.Second}, errText: "negative max wait"},
		{name: "negative queue", cfg: HasherConfig{MaxQueue: -1}, errText: "negative max queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := NewHasher(tt.cfg)
			if tt.errText != "" {
				require.ErrorContains(t, err, tt.errText)
				return
			}
			require.NoError(t, err)
			require.Equal(t, DefaultParams(), h.Params())
			require.Equal(t, DefaultMaxWait, h.maxWait)
			require.Positive(t, cap(h.sem))
		})
	}
}

func TestHasherHashVerify(t *testing.T) {
	t.Parallel()
	h := newTestHasher(t, HasherConfig{Concurrency: 2})
	ctx := context.Background()
	phc, err := h.Hash(ctx, "cafe\u0301 society")
	require.NoError(t, err)
	require.False(t, h.NeedsRehash(phc))

	tests := []struct {
		name string
		pw   string
		want bool
	}{
		{name: "exact", pw: "cafe\u0301 society", want: true},
		{name: "nfc equivalent", pw: "caf\u00e9 society", want: true},
		{name: "wrong", pw: "cafe society", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(ctx, phc, tt.pw)
			require.NoError(t, err)
			require.Equal(t, tt.want, ok)
		})
	}

	_, err = h.Verify(ctx, "$argon2id$v=19$m=99999999,t=1,p=1$"+validSalt+"$"+validHash, "pw")
	require.ErrorIs(t, err, ErrParamOutOfRange)
	require.NotErrorIs(t, err, ErrBusy)
}

func TestHasherVerifyDummy(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewPedanticRegistry()
	h := newTestHasher(t, HasherConfig{Concurrency: 1, Metrics: NewMetrics(reg)})
	// The dummy carries the Hasher's parameters, so it costs what a real
	// verification of a current hash costs.
	require.Equal(t, h.Params(), h.dummy.Params)
	require.NoError(t, h.VerifyDummy(context.Background(), "anything"))
	require.NoError(t, h.VerifyDummy(context.Background(), ""))
	require.Equal(t, 1, testutil.CollectAndCount(reg, "riskauth_password_hash_duration_seconds"))
}

// fill takes every slot of h and returns a function giving them back.
func fill(t *testing.T, h *Hasher) func() {
	t.Helper()
	var releases []func()
	for range cap(h.sem) {
		r, err := h.acquire(context.Background())
		require.NoError(t, err)
		releases = append(releases, r)
	}
	return func() {
		for _, r := range releases {
			r()
		}
	}
}

func TestHasherBusy(t *testing.T) {
	t.Parallel()
	phc, err := Hash("pw", testParams)
	require.NoError(t, err)

	// Every slot is held (fill) until release, so the 20ms waits below
	// expire however fast or slow the machine is: the verdicts do not
	// depend on its speed, only the test's duration does.
	tests := []struct {
		name       string
		cfg        HasherConfig
		ctx        func() (context.Context, context.CancelFunc)
		waiters    int // extra callers already queued
		wantCtxErr error
		errText    string
		reason     string
	}{
		{
			name:   "max wait",
			cfg:    HasherConfig{Concurrency: 1, MaxWait: 20 * time.Millisecond},
			ctx:    func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			reason: "max_wait", errText: "maximum wait exceeded",
		},
		{
			name: "caller deadline shorter than max wait",
			cfg:  HasherConfig{Concurrency: 2, MaxWait: time.Hour},
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Millisecond)
			},
			wantCtxErr: context.DeadlineExceeded, reason: "deadline",
		},
		{
			name: "already cancelled",
			cfg:  HasherConfig{Concurrency: 1, MaxWait: time.Hour},
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			wantCtxErr: context.Canceled, reason: "canceled",
		},
		{
			name:    "queue full",
			cfg:     HasherConfig{Concurrency: 1, MaxWait: time.Hour, MaxQueue: 2},
			ctx:     func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			waiters: 2, reason: "queue_full", errText: "queue full",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reg := prometheus.NewPedanticRegistry()
			tt.cfg.Metrics = NewMetrics(reg)
			h := newTestHasher(t, tt.cfg)
			release := fill(t, h)

			// Park waiters that hold queue places until the slots free up.
			var wg sync.WaitGroup
			for range tt.waiters {
				wg.Go(func() {
					ok, err := h.Verify(context.Background(), phc, "pw")
					require.NoError(t, err)
					require.True(t, ok)
				})
			}
			testenv.Eventually(t, "the waiters to queue", func() bool { return h.waiting.Load() == int64(tt.waiters) })

			ctx, cancel := tt.ctx()
			defer cancel()
			for _, call := range []func() error{
				func() error { _, err := h.Hash(ctx, "pw"); return err },
				func() error { _, err := h.Verify(ctx, phc, "pw"); return err },
				func() error { return h.VerifyDummy(ctx, "pw") },
			} {
				err := call()
				require.ErrorIs(t, err, ErrBusy)
				if tt.wantCtxErr != nil {
					require.ErrorIs(t, err, tt.wantCtxErr)
				}
				require.ErrorContains(t, err, tt.errText)
			}
			require.InDelta(t, 3, testutil.ToFloat64(h.metrics.rejected.WithLabelValues(tt.reason)), 0)

			// Once slots free up, work proceeds again.
			release()
			wg.Wait()
			ok, err := h.Verify(context.Background(), phc, "pw")
			require.NoError(t, err)
			require.True(t, ok)
			require.InDelta(t, 0, testutil.ToFloat64(h.metrics.running), 0)
		})
	}
}

func TestHasherBoundsConcurrency(t *testing.T) {
	t.Parallel()
	const limit = 2
	h := newTestHasher(t, HasherConfig{Concurrency: limit, MaxWait: time.Minute})
	phc, err := Hash("pw", testParams)
	require.NoError(t, err)

	// Sample the semaphore while 16 verifications compete: it never holds
	// more than the limit, and every caller eventually gets through.
	stop := make(chan struct{})
	maxSeen := make(chan int)
	go func() {
		m := 0
		for {
			select {
			case <-stop:
				maxSeen <- m
				return
			default:
				m = max(m, len(h.sem))
			}
		}
	}()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			ok, err := h.Verify(context.Background(), phc, "pw")
			require.NoError(t, err)
			require.True(t, ok)
		})
	}
	wg.Wait()
	close(stop)
	require.LessOrEqual(t, <-maxSeen, limit)
	require.Zero(t, len(h.sem))
	require.Zero(t, h.waiting.Load())
}
