package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riskauth/riskauth/authn/foreignhash"
	"github.com/riskauth/riskauth/authn/userimport"
)

// riskctl users import FILE: the migration file (JSON lines,
// docs/migration.md) in batches to POST /v1/admin/users/import. Each line
// is checked here first (for the report: counts by hash scheme, invalid
// lines with their number and reason) and again by the server, which
// decides. A checkpoint (FILE.progress) after each acknowledged batch lets
// an interrupted run resume; the import is idempotent by external id, so
// a batch sent twice creates nothing twice.

// importBatchBytes keeps a batch under the server's default body limit
// (64 KiB) with room for the envelope.
const importBatchBytes = 56 << 10

type importFlags struct {
	dryRun, restart bool
	reason          string
	batchBytes      int
	firebase        string
	report          string
}

func usersImport(ctx context.Context, args []string, env func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("users import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f importFlags
	fs.BoolVar(&f.dryRun, "dry-run", false, "check every line and report; write nothing")
	fs.BoolVar(&f.restart, "restart", false, "ignore FILE.progress and start from the first line")
	fs.StringVar(&f.reason, "reason", "", "why, for the audit trail (required)")
	fs.IntVar(&f.batchBytes, "batch-bytes", importBatchBytes, "largest batch body (keep under the server's body_limit)")
	fs.StringVar(&f.firebase, "firebase-params", "", "JSON file with the Firebase project's hash parameters")
	fs.StringVar(&f.report, "report", "", "write the report (JSON) to this file too")
	files, err := parseInterleaved(fs, args)
	if err != nil || len(files) != 1 {
		fmt.Fprint(stderr, usersUsage)
		return 2
	}
	if strings.TrimSpace(f.reason) == "" {
		fmt.Fprintln(stderr, "-reason is required: say why, for the audit trail")
		return 2
	}
	var o userimport.Options
	if f.firebase != "" {
		p, err := readFirebaseParams(f.firebase)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		o.Firebase = p
	}
	c, err := newAdminClient(env)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	rep, err := runImport(ctx, c, files[0], f, o, stderr)
	if rep != nil {
		printImportReport(stdout, rep, f.dryRun)
		if f.report != "" {
			if b, jerr := json.MarshalIndent(rep, "", "  "); jerr == nil {
				_ = os.WriteFile(f.report, append(b, '\n'), 0o600)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// readFirebaseParams reads the project's parameters as the Firebase
// console shows them (base64_signer_key, base64_salt_separator, rounds,
// mem_cost).
func readFirebaseParams(path string) (*foreignhash.FirebaseParams, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p struct {
		SignerKey     string `json:"base64_signer_key"`
		SaltSeparator string `json:"base64_salt_separator"`
		Rounds        int    `json:"rounds"`
		MemCost       int    `json:"mem_cost"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.SignerKey == "" || p.Rounds == 0 || p.MemCost == 0 {
		return nil, fmt.Errorf("%s: want {\"base64_signer_key\", \"base64_salt_separator\", \"rounds\", \"mem_cost\"}", path)
	}
	return &foreignhash.FirebaseParams{SignerKey: p.SignerKey, SaltSeparator: p.SaltSeparator, Rounds: p.Rounds, MemCost: p.MemCost}, nil
}

// pending is one batch being built.
type pending struct {
	first int
	lines []json.RawMessage
	size  int
}

func runImport(ctx context.Context, c *adminClient, path string, f importFlags, o userimport.Options, stderr io.Writer) (*userimport.Report, error) {
	total, err := countLines(path)
	if err != nil {
		return nil, err
	}
	ckpt := path + ".progress"
	skip := 0
	if !f.dryRun && !f.restart {
		if b, err := os.ReadFile(ckpt); err == nil {
			skip, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			fmt.Fprintf(stderr, "resuming after line %d (%s; -restart to start over)\n", skip, ckpt)
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	rep := &userimport.Report{Schemes: map[string]int{}}
	prog := newProgress(stderr, total-skip)
	var b pending
	flush := func() error {
		if len(b.lines) == 0 {
			return nil
		}
		if err := sendBatch(ctx, c, &b, f, o, rep); err != nil {
			return err
		}
		if !f.dryRun {
			if err := writeCheckpoint(ckpt, b.first+len(b.lines)-1); err != nil {
				return err
			}
		}
		prog.add(len(b.lines))
		b = pending{}
		return nil
	}
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 4*userimport.MaxLineLen)
	n := 0
	for sc.Scan() {
		n++
		if n <= skip {
			continue
		}
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		rep.Lines++
		if r, err := userimport.ParseLine(line, o); err == nil && r.Scheme != "" {
			rep.Schemes[r.Scheme]++
			if r.Weak {
				rep.Weak++
			}
		}
		raw := json.RawMessage(append([]byte(nil), line...))
		if !json.Valid(raw) {
			// Sent as a string, which the server reports as invalid with
			// the rest of the batch, rather than breaking the batch.
			raw, _ = json.Marshal(string(line[:min(len(line), 64)]))
		}
		if b.size+len(raw) > f.batchBytes || len(b.lines) == 5000 {
			if err := flush(); err != nil {
				return rep, err
			}
		}
		if len(b.lines) == 0 {
			b.first = n
		}
		b.lines = append(b.lines, raw)
		b.size += len(raw) + 1
	}
	if err := sc.Err(); err != nil {
		return rep, fmt.Errorf("%s line %d: %w", path, n+1, err)
	}
	if err := flush(); err != nil {
		return rep, err
	}
	prog.done()
	if !f.dryRun {
		_ = os.Remove(ckpt)
	}
	return rep, nil
}

func sendBatch(ctx context.Context, c *adminClient, b *pending, f importFlags, o userimport.Options, rep *userimport.Report) error {
	req := map[string]any{"reason": f.reason, "dry_run": f.dryRun, "first_line": b.first, "users": b.lines}
	if p := o.Firebase; p != nil {
		req["firebase"] = map[string]any{"signer_key": p.SignerKey, "salt_separator": p.SaltSeparator, "rounds": p.Rounds, "mem_cost": p.MemCost}
	}
	var res struct {
		Results []struct {
			Line           int    `json:"line"`
			Status         string `json:"status"`
			Reason         string `json:"reason"`
			SignInsLearned int    `json:"sign_ins_learned"`
			Warning        string `json:"warning"`
		} `json:"results"`
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = c.do(ctx, http.MethodPost, "/v1/admin/users/import", req, &res); err == nil {
			break
		}
		var ae *apiError
		if errors.As(err, &ae) && ae.Status < 500 {
			return fmt.Errorf("batch from line %d: %w", b.first, err)
		}
		time.Sleep(time.Duration(attempt+1) * time.Second) // a backend or the network: retry the batch (idempotent)
	}
	if err != nil {
		return fmt.Errorf("batch from line %d: %w", b.first, err)
	}
	for _, r := range res.Results {
		switch r.Status {
		case "created":
			rep.Created++
			rep.SignInsLearned += r.SignInsLearned
			if r.Warning != "" {
				rep.Warnings = append(rep.Warnings, userimport.LineError{Line: r.Line, Reason: r.Warning})
			}
		case "existing":
			rep.Existing++
		case "conflict":
			rep.Conflict++
			rep.Errors = append(rep.Errors, userimport.LineError{Line: r.Line, Reason: r.Reason})
		default:
			rep.Invalid++
			rep.Errors = append(rep.Errors, userimport.LineError{Line: r.Line, Reason: r.Reason})
		}
	}
	return nil
}

func writeCheckpoint(path string, line int) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(line)+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func countLines(path string) (int, error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	n := 0
	r := bufio.NewReaderSize(fh, 1<<20)
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 && (err == nil || err == io.EOF) {
			n++
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return n, err
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			n-- // the same line goes on
		}
	}
}

// progress prints lines done, rate and ETA to stderr, at most once a
// second.
type progress struct {
	w          io.Writer
	total, n   int
	start, out time.Time
}

func newProgress(w io.Writer, total int) *progress {
	now := time.Now()
	return &progress{w: w, total: total, start: now, out: now}
}

func (p *progress) add(k int) {
	p.n += k
	now := time.Now()
	if now.Sub(p.out) < time.Second {
		return
	}
	p.out = now
	rate := float64(p.n) / now.Sub(p.start).Seconds()
	eta := "?"
	if rate > 0 && p.total > p.n {
		eta = (time.Duration(float64(p.total-p.n)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%d/%d lines  %.0f/s  ETA %s   ", p.n, p.total, rate, eta)
}

func (p *progress) done() {
	el := time.Since(p.start)
	fmt.Fprintf(p.w, "\r%d lines in %s (%.0f/s)            \n", p.n, el.Round(time.Millisecond), float64(p.n)/max(el.Seconds(), 1e-9))
}

func printImportReport(w io.Writer, r *userimport.Report, dry bool) {
	verb := "created"
	if dry {
		verb = "would create"
	}
	fmt.Fprintf(w, "lines %d: %s %d, existing %d, conflict %d, invalid %d\n", r.Lines, verb, r.Created, r.Existing, r.Conflict, r.Invalid)
	schemes := make([]string, 0, len(r.Schemes))
	for s := range r.Schemes {
		schemes = append(schemes, s)
	}
	sort.Strings(schemes)
	for _, s := range schemes {
		fmt.Fprintf(w, "  %-16s %d\n", s, r.Schemes[s])
	}
	if r.SignInsLearned > 0 {
		fmt.Fprintf(w, "past sign-ins learned by the risk engine: %d\n", r.SignInsLearned)
	}
	for i, e := range r.Warnings {
		if i == 20 {
			fmt.Fprintf(w, "... %d more warnings (-report FILE for all)\n", len(r.Warnings)-20)
			break
		}
		fmt.Fprintf(w, "line %d: created; %s\n", e.Line, e.Reason)
	}
	if r.Weak > 0 {
		fmt.Fprintf(w, "weak hashes (salted SHA-2): %d users; ask them to reset their password (docs/migration.md)\n", r.Weak)
	}
	for i, e := range r.Errors {
		if i == 20 {
			fmt.Fprintf(w, "... %d more (-report FILE for all)\n", len(r.Errors)-20)
			break
		}
		fmt.Fprintf(w, "line %d: %s\n", e.Line, e.Reason)
	}
}
