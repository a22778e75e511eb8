// Package importcli is the `riskctl breached import` command: it imports a
// Pwned Passwords corpus with breached.Import / breached.ImportDir and
// shows a progress bar. riskctl calls ImportCommand (or Run) with the
// arguments after "breached import".
//
// It is not for the server: the server opens the resulting file with
// breached.Open.
package importcli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/riskauth/riskauth/signals/breached"
	"github.com/schollz/progressbar/v3"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1 // the import failed; nothing was written
	ExitUsage = 2
)

const usage = `usage: riskctl breached import [flags] FILE|-|DIR

Imports the Have I Been Pwned Pwned Passwords corpus (SHA-1 version) into
a file the server memory-maps. FILE (or - for standard input) is the
single-file download, SHA1HEX:COUNT lines; DIR is the range layout of the
official downloader (files named by 5-hex-digit prefix, SUFFIX:COUNT lines).

The output is written to a temporary file and renamed into place only when
complete: an interrupted import leaves the previous file untouched.

Formats:
  filter  check-only, ~2.1 bytes/entry (15-bit fingerprints: 1.97 GiB at 1e9
          entries), false-positive rate 2^-fp-bits, no counts (default)
  table   counts and range serving (/v1/breached/range/{prefix}),
          7 bytes/entry (6.5 GiB at 1e9 entries), exact up to 60 bits

Flags:
`

// ImportCommand runs the import with SIGINT/SIGTERM cancelling it.
func ImportCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, stdin, stdout, stderr)
}

// Run parses args (the arguments after "breached import") and imports.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("riskctl breached import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var (
		out         = fs.String("out", "", "output `file` (required)")
		format      = fs.String("format", string(breached.FormatFilter), "output format: filter or table")
		minCount    = fs.Uint("min-count", 0, "drop entries seen fewer than `N` times")
		fpBits      = fs.Int("fp-bits", breached.DefaultFingerprintBits, "filter fingerprint `bits`, 8..16: false-positive rate 2^-bits")
		skipInvalid = fs.Bool("skip-invalid", false, "skip malformed lines (counted and reported) instead of failing")
		tmpDir      = fs.String("tmp", "", "`dir` for the spill file (12 bytes per line; default: the output's directory)")
		noProgress  = fs.Bool("no-progress", false, "do not show a progress bar")
	)
	fs.StringVar(out, "o", "", "shorthand for -out")
	// Flags may follow the input argument.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return ExitOK
			}
			return ExitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 || *out == "" {
		fmt.Fprintln(stderr, "riskctl breached import: need exactly one input (FILE, - or DIR) and -out")
		fs.Usage()
		return ExitUsage
	}
	if *minCount > 1<<32-1 {
		fmt.Fprintln(stderr, "riskctl breached import: -min-count too large")
		return ExitUsage
	}
	opts := breached.ImportOptions{
		Format:          breached.Format(*format),
		MinCount:        uint32(*minCount),
		FingerprintBits: *fpBits,
		SkipInvalid:     *skipInvalid,
		TempDir:         *tmpDir,
	}
	in := pos[0]
	var (
		isDir bool
		r     io.Reader
	)
	switch in {
	case "-":
		r = stdin
	default:
		st, err := os.Stat(in)
		if err != nil {
			fmt.Fprintf(stderr, "riskctl breached import: %v\n", err)
			return ExitError
		}
		if st.IsDir() {
			isDir = true
			files, size, err := breached.RangeDirSize(in)
			if err != nil {
				fmt.Fprintf(stderr, "riskctl breached import: %v\n", err)
				return ExitError
			}
			if files == 0 {
				fmt.Fprintf(stderr, "riskctl breached import: %s holds no range files (named like 0A1B2 or 0A1B2.txt)\n", in)
				return ExitError
			}
			opts.TotalBytes = size
		} else {
			f, err := os.Open(in)
			if err != nil {
				fmt.Fprintf(stderr, "riskctl breached import: %v\n", err)
				return ExitError
			}
			defer f.Close()
			r = f
			if st.Mode().IsRegular() {
				opts.TotalBytes = st.Size()
			}
		}
	}

	start := time.Now()
	var bar *bar
	if !*noProgress {
		bar = newBar(stderr, opts.TotalBytes, start)
		opts.Progress = bar.update
	}
	var (
		stats breached.Stats
		err   error
	)
	if isDir {
		stats, err = breached.ImportDir(ctx, in, *out, opts)
	} else {
		stats, err = breached.Import(ctx, r, *out, opts)
	}
	bar.finish()
	for _, le := range stats.InvalidLines {
		fmt.Fprintf(stderr, "skipped %s\n", le.Error())
	}
	if stats.Invalid > int64(len(stats.InvalidLines)) {
		fmt.Fprintf(stderr, "... and %d more malformed lines\n", stats.Invalid-int64(len(stats.InvalidLines)))
	}
	if err != nil {
		fmt.Fprintf(stderr, "riskctl breached import: %v\n", err)
		if errors.Is(err, breached.ErrMalformed) {
			fmt.Fprintln(stderr, "(use -skip-invalid to skip malformed lines)")
		}
		fmt.Fprintf(stderr, "nothing was written to %s\n", *out)
		return ExitError
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stdout, "wrote %s: %s, %d entries, %s (%.2f bytes/entry)\n",
		*out, stats.Format, stats.Entries, humanBytes(stats.OutputBytes), perEntry(stats))
	fmt.Fprintf(stdout, "read %d lines (%s) in %s, %.0f lines/s; %d below min count, %d duplicates, %d malformed skipped\n",
		stats.Lines, humanBytes(stats.Bytes), elapsed.Round(time.Millisecond), float64(stats.Lines)/elapsed.Seconds(),
		stats.BelowMin, stats.Duplicates, stats.Invalid)
	return ExitOK
}

func perEntry(s breached.Stats) float64 {
	if s.Entries == 0 {
		return 0
	}
	return float64(s.OutputBytes) / float64(s.Entries)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// bar drives a progress bar from import progress callbacks: input bytes
// with rate and ETA when the size is known (a spinner otherwise), then the
// build steps.
type bar struct {
	w     io.Writer
	pb    *progressbar.ProgressBar
	phase breached.Phase
	start time.Time
}

func newBar(w io.Writer, total int64, start time.Time) *bar {
	max := total
	if max <= 0 {
		max = -1
	}
	return &bar{w: w, start: start, phase: breached.PhaseRead, pb: progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("reading"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSpinnerType(14),
	)}
}

func (b *bar) update(p breached.Progress) {
	if p.Phase != b.phase {
		_ = b.pb.Finish()
		fmt.Fprintln(b.w)
		b.phase = p.Phase
		b.pb = progressbar.NewOptions(p.Total,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription("sorting and writing"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetWidth(30),
		)
	}
	switch p.Phase {
	case breached.PhaseRead:
		secs := time.Since(b.start).Seconds()
		rate := 0.0
		if secs > 0 {
			rate = float64(p.Lines) / secs
		}
		b.pb.Describe(fmt.Sprintf("reading %s lines (%s lines/s)", short(float64(p.Lines)), short(rate)))
		_ = b.pb.Set64(p.Bytes)
	case breached.PhaseBuild:
		_ = b.pb.Set(p.Done)
	}
}

func (b *bar) finish() {
	if b == nil {
		return
	}
	_ = b.pb.Finish()
	fmt.Fprintln(b.w)
}

func short(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.0f", v), ".0")
}
