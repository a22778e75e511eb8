package password

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/riskauth/riskauth/engine/clock"
)

// DefaultMaxWait is how long a hash or verification waits for a free slot
// when HasherConfig.MaxWait is zero. A sign-in that has waited two seconds
// for CPU is better answered "try again" than left to pile up.
const DefaultMaxWait = 2 * time.Second

// ErrBusy reports that a hash or verification did not get a free slot in
// time: the caller's context ended, HasherConfig.MaxWait passed, or the
// queue was full. Nothing was computed; the HTTP layer answers 503 with
// Retry-After. The error also wraps the context error when there is one.
var ErrBusy = errors.New("password hasher busy")

var (
	errMaxWait   = errors.New("maximum wait exceeded")
	errQueueFull = errors.New("queue full")
)

// HasherConfig configures a Hasher. The zero value is usable.
type HasherConfig struct {
	// Params are the argon2id parameters for new hashes and the dummy
	// verification. Zero means DefaultParams().
	Params Params
	// Concurrency is how many argon2id computations may run at once. Zero
	// means runtime.NumCPU(): argon2id with p=1 is one core's work, so more
	// only adds memory (Params.Memory each) and latency for everyone.
	Concurrency int
	// MaxWait bounds the time spent queueing for a slot, whatever the
	// caller's context allows. Zero means DefaultMaxWait.
	MaxWait time.Duration
	// MaxQueue bounds how many callers may wait for a slot; one more is
	// rejected at once with ErrBusy. Zero means no bound (MaxWait still
	// bounds each wait).
	MaxQueue int
	// Clock measures waits and durations. Nil means the system clock.
	Clock clock.Clock
	// Metrics records durations and rejections. Nil records nothing.
	Metrics *Metrics
}

// Hasher hashes and verifies passwords with argon2id, at most
// Concurrency at a time. It is safe for concurrent use.
type Hasher struct {
	params   Params
	sem      chan struct{}
	maxWait  time.Duration
	maxQueue int64
	waiting  atomic.Int64
	clock    clock.Clock
	metrics  *Metrics
	dummy    PHC
}

// NewHasher validates cfg and returns a Hasher.
func NewHasher(cfg HasherConfig) (*Hasher, error) {
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams()
	}
	if err := cfg.Params.Validate(); err != nil {
		return nil, fmt.Errorf("password hasher: %w", err)
	}
	switch {
	case cfg.Concurrency < 0:
		return nil, fmt.Errorf("password hasher: negative concurrency %d", cfg.Concurrency)
	case cfg.Concurrency == 0:
		cfg.Concurrency = runtime.NumCPU()
	}
	switch {
	case cfg.MaxWait < 0:
		return nil, fmt.Errorf("password hasher: negative max wait %s", cfg.MaxWait)
	case cfg.MaxWait == 0:
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.MaxQueue < 0 {
		return nil, fmt.Errorf("password hasher: negative max queue %d", cfg.MaxQueue)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	// The dummy hash has the current parameters and random salt and
	// "hash" bytes: verifying against it costs exactly one real
	// verification and never succeeds, and nothing needs computing now.
	salt := make([]byte, cfg.Params.SaltLen)
	key := make([]byte, cfg.Params.KeyLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("password hasher: dummy salt: %w", err)
	}
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("password hasher: dummy key: %w", err)
	}
	return &Hasher{
		params:   cfg.Params,
		sem:      make(chan struct{}, cfg.Concurrency),
		maxWait:  cfg.MaxWait,
		maxQueue: int64(cfg.MaxQueue),
		clock:    cfg.Clock,
		metrics:  cfg.Metrics,
		dummy:    PHC{Params: cfg.Params, Salt: salt, Hash: key},
	}, nil
}

// Params returns the parameters used for new hashes.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC string of the NFC-normalised pw under the
// Hasher's parameters. It fails with ErrBusy when no slot frees up in
// time; once started, the computation is not interruptible.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	defer release()
	start := h.clock.Now()
	phc, err := Hash(pw, h.params)
	h.metrics.observe(opHash, h.clock.Now().Sub(start))
	return phc, err
}

// Verify reports whether pw matches the stored PHC string. A stored hash
// that does not parse is an error wrapping ErrInvalidPHC, returned without
// queueing; ErrBusy means nothing was computed and the answer is unknown.
func (h *Hasher) Verify(ctx context.Context, phc, pw string) (bool, error) {
	parsed, err := ParsePHC(phc)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	return h.verify(ctx, parsed, pw, opVerify)
}

// VerifyDummy spends what Verify spends — the same queue, the same
// argon2id parameters — against a hash no password matches. Sign-in calls
// it for an unknown identifier so that "no such user" cannot be told from
// "wrong password" by timing (CONVENTIONS §10). It returns only ErrBusy
// errors. Stored hashes with older, cheaper parameters still verify faster
// than the dummy until NeedsRehash has upgraded them.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	_, err := h.verify(ctx, h.dummy, pw, opDummy)
	return err
}

// Run runs fn — the verification of another system's hash, for users
// migrated with it (authn/foreignhash) — in one of the hasher's slots, so
// that bcrypt, scrypt and PBKDF2 share the CPU bound with argon2id and
// shed load alike (ErrBusy).
func (h *Hasher) Run(ctx context.Context, fn func()) error {
	release, err := h.acquire(ctx)
	if err != nil {
		return fmt.Errorf("verify foreign hash: %w", err)
	}
	defer release()
	fn()
	return nil
}

// NeedsRehash reports whether phc was made with weaker parameters than the
// Hasher's (see the package-level NeedsRehash).
func (h *Hasher) NeedsRehash(phc string) bool {
	return NeedsRehash(phc, h.params)
}

func (h *Hasher) verify(ctx context.Context, parsed PHC, pw string, op string) (bool, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("verify password: %w", err)
	}
	defer release()
	start := h.clock.Now()
	ok := verifyParsed(parsed, pw)
	h.metrics.observe(op, h.clock.Now().Sub(start))
	return ok, nil
}

// acquire takes a computation slot, waiting at most maxWait, until ctx
// ends, or not at all when the queue is full.
func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		h.metrics.busy(busyReason(err))
		return nil, fmt.Errorf("%w: %w", ErrBusy, err)
	}
	release = func() {
		<-h.sem
		h.metrics.inFlight(-1)
	}
	select {
	case h.sem <- struct{}{}:
		h.metrics.waited(0)
		h.metrics.inFlight(1)
		return release, nil
	default:
	}

	if n := h.waiting.Add(1); h.maxQueue > 0 && n > h.maxQueue {
		h.waiting.Add(-1)
		h.metrics.busy("queue_full")
		return nil, fmt.Errorf("%w: %w (%d waiting)", ErrBusy, errQueueFull, h.maxQueue)
	}
	defer h.waiting.Add(-1)

	start := h.clock.Now()
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.sem <- struct{}{}:
		h.metrics.waited(h.clock.Now().Sub(start))
		h.metrics.inFlight(1)
		return release, nil
	case <-ctx.Done():
		h.metrics.busy(busyReason(ctx.Err()))
		return nil, fmt.Errorf("%w after %s: %w", ErrBusy, h.clock.Now().Sub(start).Round(time.Millisecond), ctx.Err())
	case <-timer.C:
		h.metrics.busy("max_wait")
		return nil, fmt.Errorf("%w: %w (%s)", ErrBusy, errMaxWait, h.maxWait)
	}
}

func busyReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "deadline"
	}
	return "canceled"
}
