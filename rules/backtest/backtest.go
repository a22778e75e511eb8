package backtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/riskauth/riskauth/rules"
)

// Defaults and hard limits of Options.
const (
	// DefaultSamples is how many sample events a report keeps per changed
	// from→to pair.
	DefaultSamples = 5
	// MaxSamples bounds Options.Samples: samples are the only per-event
	// data a backtest keeps, so they bound its memory.
	MaxSamples = 1000
	// DefaultMaxProblems is how many unreplayable lines are listed.
	DefaultMaxProblems = 20
	// DefaultMaxLineBytes is the longest line read; a decision event is a
	// few KiB, so anything near this is not one.
	DefaultMaxLineBytes = 1 << 20

	// classAuthentication is OCSF's Authentication class, the decisions.
	classAuthentication = 3002
	// maxVersions and maxBaselineRules bound what is tracked by id from
	// untrusted input (ruleset_version, recorded reason rule ids).
	maxVersions      = 32
	maxBaselineRules = 1024
	otherID          = "(other)"
	// maxErrorText bounds the error text kept per listed problem: a JSON
	// error may quote the input.
	maxErrorText = 200
	// batchLines and batchBytes size the units handed to workers: big
	// enough that channel hand-offs are rare, small enough that a few in
	// flight per worker stay far below a megabyte or two each.
	batchLines = 256
	batchBytes = 512 << 10
)

const numActions = 3

// Options tune a backtest; the zero value is usable.
type Options struct {
	// Samples per changed from→to pair (default DefaultSamples, at most
	// MaxSamples; negative keeps none).
	Samples int
	// MaxProblems is how many unreplayable lines are listed (default
	// DefaultMaxProblems; negative lists none). All are counted.
	MaxProblems int
	// MaxLineBytes is the longest line accepted (default
	// DefaultMaxLineBytes); longer lines are malformed.
	MaxLineBytes int
	// Workers evaluate in parallel (default GOMAXPROCS).
	Workers int
	// Baseline, when set, is the rule set the recorded run used: added and
	// removed rules are then exact instead of inferred from reasons.
	Baseline *rules.RuleSet
}

func (o *Options) defaults() {
	switch {
	case o.Samples == 0:
		o.Samples = DefaultSamples
	case o.Samples < 0:
		o.Samples = 0
	case o.Samples > MaxSamples:
		o.Samples = MaxSamples
	}
	switch {
	case o.MaxProblems == 0:
		o.MaxProblems = DefaultMaxProblems
	case o.MaxProblems < 0:
		o.MaxProblems = 0
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
}

// ErrNoRules: Run needs a candidate rule set.
var ErrNoRules = errors.New("backtest: no candidate rule set")

// batch is a run of consecutive input lines: data holds them back to
// back, ends[i] is where line first+i ends.
type batch struct {
	first int64
	data  []byte
	ends  []int
}

// Run replays every decision event read from r through candidate and
// reports the difference with the recorded decisions. It fails only when
// reading r fails or ctx is cancelled; bad lines are counted and listed
// in the report.
//
// Floored events: a recorded decision that was raised to the
// unavailable-signal floor (floored: true) is exactly the floor, because
// the engine raises a lower verdict to the floor and nothing else. The
// candidate's decision for such an event is therefore max(candidate
// verdict, recorded decision): the same signal was unavailable, so the
// same floor applies. Totals.FloorHeld counts where that made a
// difference.
func Run(ctx context.Context, r io.Reader, candidate *rules.RuleSet, opts Options) (*Report, error) {
	if candidate == nil {
		return nil, ErrNoRules
	}
	opts.defaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// A fixed set of batches circulates between the reader and the
	// workers: it bounds the input held in memory, and reusing them keeps
	// half-megabyte buffers out of the garbage.
	nbatches := 2*opts.Workers + 1
	free := make(chan *batch, nbatches)
	allocated := 0
	get := func() *batch {
		select {
		case b := <-free:
			return b
		default:
		}
		if allocated < nbatches {
			allocated++
			return &batch{data: make([]byte, 0, batchBytes+4096), ends: make([]int, 0, batchLines)}
		}
		return <-free
	}
	work := make(chan *batch, nbatches)
	aggs := make([]*agg, opts.Workers)
	var wg sync.WaitGroup
	for i := range aggs {
		aggs[i] = newAgg(candidate, &opts)
		wg.Add(1)
		go func(a *agg) {
			defer wg.Done()
			for b := range work {
				a.batch(b)
				b.data, b.ends = b.data[:0], b.ends[:0]
				free <- b
			}
		}(aggs[i])
	}

	reader := newAgg(candidate, &opts) // lines rejected while reading
	readErr := readLines(ctx, r, &opts, reader, get, work)
	close(work)
	wg.Wait()
	if readErr != nil {
		return nil, readErr
	}
	return merge(candidate, &opts, append(aggs, reader)), nil
}

// readLines splits r into batches of lines for the workers. Over-long
// lines are reported on rd and skipped up to their newline; a batch never
// spans one, so each batch's lines stay consecutive.
func readLines(ctx context.Context, r io.Reader, opts *Options, rd *agg, get func() *batch, work chan<- *batch) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		line int64 // lines completed so far
		b    = get()
		long bool // inside an over-long line
		size int  // bytes of the current line so far
	)
	b.first = 1
	send := func() error {
		if len(b.ends) > 0 {
			select {
			case work <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			b = get()
		}
		b.first = line + 1
		return nil
	}
	for {
		chunk, err := br.ReadSlice('\n')
		rd.bytes += int64(len(chunk))
		if !long {
			if size+len(chunk) > opts.MaxLineBytes+1 { // +1: the newline
				long = true
				b.data = b.data[:len(b.data)-size]
			} else {
				b.data = append(b.data, chunk...)
				size += len(chunk)
			}
		}
		eof := errors.Is(err, io.EOF)
		if err == nil || (eof && (size > 0 || long)) {
			line++
			rd.lines++
			switch {
			case long:
				rd.malformed++
				rd.problem(line, ProblemMalformed, fmt.Sprintf("line longer than %d bytes", opts.MaxLineBytes))
				if err := send(); err != nil {
					return err
				}
			default:
				b.ends = append(b.ends, len(b.data))
				if len(b.ends) >= batchLines || len(b.data) >= batchBytes {
					if err := send(); err != nil {
						return err
					}
				}
			}
			long, size = false, 0
		}
		switch {
		case err == nil || errors.Is(err, bufio.ErrBufferFull):
		case eof:
			return send()
		default:
			return fmt.Errorf("backtest: read events: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
